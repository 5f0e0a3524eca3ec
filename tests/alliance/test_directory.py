"""The public directory: listing follows membership, facets, search in both languages, privacy, moderation."""

import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation
from PIL import Image

from accounts.models import Organisation, OrganisationKind, Sector
from alliance.models import (
    AllianceMembership,
    DirectoryEntry,
    ProfileRevision,
    RevisionStatus,
    Tier,
    Visibility,
)
from alliance.services import directory, profiles
from alliance.services import membership as membership_services
from core.exceptions import NotAllowed
from tests.accounts.factories import UserFactory, make_verified_organisation
from tests.alliance.factories import (
    apply_for,
    make_capability,
    make_member_organisation,
    make_solution,
    manager_of,
    publish_profile,
)

pytestmark = pytest.mark.django_db

INDEX = reverse("alliance:index")
# The entries and their capabilities (2) and, when the cache has no counts for this state of the directory (a
# cache read): four facets, capabilities and their names for the query and for the statistics (2 × 6), joins per
# year.
MAX_DIRECTORY_QUERIES = 15


def test_approved_member_appears_and_suspended_or_expired_disappear(client, operator):
    org = make_member_organisation(
        operator, name_zh="星河智能科技有限公司", name_en="Xinghe Intelligent Technology"
    )
    response = client.get(INDEX)
    assert "星河智能科技有限公司" in response.content.decode()
    membership = AllianceMembership.objects.get(organisation=org)
    membership_services.suspend_membership(membership, by=operator, reason="Unpaid fee")
    assert "星河智能科技有限公司" not in client.get(INDEX).content.decode()
    assert client.get(reverse("alliance:member_profile", args=[org.pk])).status_code == 404
    membership_services.reinstate_membership(membership, by=operator)
    assert "星河智能科技有限公司" in client.get(INDEX).content.decode()
    # Lapsed by the dates (past the grace period): gone today, before the daily recheck runs.
    today = timezone.localdate()
    AllianceMembership.objects.filter(pk=membership.pk).update(
        start_date=today - timedelta(days=500), end_date=today - timedelta(days=100)
    )
    membership_services.change_tier(membership, by=operator, tier=Tier.COUNCIL)  # re-syncs the entry
    assert "星河智能科技有限公司" not in client.get(INDEX).content.decode()
    membership_services.recheck_memberships()
    assert not DirectoryEntry.objects.get(pk=org.pk).is_listed


def test_pending_application_is_not_listed(client, operator):

    org = make_verified_organisation(UserFactory(), name_zh="待审机构")
    apply_for(org)
    assert "待审机构" not in client.get(INDEX).content.decode()
    assert not DirectoryEntry.objects.exists()


def test_facet_counts_and_filters(client, operator):
    ai = make_capability("computer-vision", "计算机视觉", "Computer vision")
    make_member_organisation(
        operator, kind=OrganisationKind.ENTERPRISE, sector=Sector.HEALTHCARE, city="滨海", tier=Tier.COUNCIL
    )
    uni = make_member_organisation(
        operator, kind=OrganisationKind.UNIVERSITY, sector=Sector.EDUCATION, city="滨海", uscc=""
    )
    make_member_organisation(
        operator, kind=OrganisationKind.ENTERPRISE, sector=Sector.HEALTHCARE, city="临江"
    )
    publish_profile(uni, operator=operator, capabilities=[ai], description="大学")
    query = directory.DirectoryQuery.from_params({})
    facets = directory.facets(query)
    counts = {f.value: f.count for f in facets["kind"]}
    assert counts == {"enterprise": 2, "university": 1}
    assert {f.value: f.count for f in facets["city"]} == {"滨海": 2, "临江": 1}
    assert {f.value: f.count for f in facets["tier"]} == {"council": 1, "member": 2}
    assert {f.value: f.count for f in facets["capability"]} == {"computer-vision": 1}
    # Filtering by city: the other facets count within it; the city facet keeps its own counts.
    query = directory.DirectoryQuery.from_params({"city": "滨海"})
    facets = directory.facets(query)
    assert {f.value: f.count for f in facets["kind"]} == {"enterprise": 1, "university": 1}
    assert {f.value: f.count for f in facets["city"]} == {"滨海": 2, "临江": 1}
    assert len(list(directory.entries(query))) == 2
    response = client.get(INDEX, {"capability": "computer-vision"})
    assert list(response.context["page"].object_list) == [DirectoryEntry.objects.get(pk=uni.pk)]


def test_bad_filter_values_are_ignored_not_500(client, operator):
    make_member_organisation(operator)
    for params in (
        {"kind": "spaceship"},
        {"tier": "x" * 500},
        {"page": "abc"},
        {"q": "%_\\'\""},
        {"capability": ["nope", "x" * 300]},
        {"q": "星" * 1000},
    ):
        assert client.get(INDEX, params).status_code == 200


def test_search_finds_chinese_and_english_names_capabilities_and_solutions(operator):
    vision = make_capability("computer-vision", "计算机视觉", "Computer vision")
    org = make_member_organisation(
        operator, name_zh="星河智能科技有限公司", name_en="Xinghe Intelligent Technology"
    )
    make_member_organisation(operator, name_zh="临江数据有限公司", name_en="Linjiang Data")
    publish_profile(org, operator=operator, capabilities=[vision], description="城市大脑")
    make_solution(org, operator=operator, title="肺结节筛查 Lung nodule screening")

    def found(q):
        return [e.name_zh for e in directory.entries(directory.DirectoryQuery.from_params({"q": q}))]

    assert found("星河智能") == ["星河智能科技有限公司"]
    assert found("xinghe") == ["星河智能科技有限公司"]
    assert found("INTELLIGENT technology") == ["星河智能科技有限公司"]
    assert found("计算机视觉") == ["星河智能科技有限公司"]
    assert found("computer vision") == ["星河智能科技有限公司"]
    assert found("肺结节") == ["星河智能科技有限公司"]
    assert found("城市大脑") == ["星河智能科技有限公司"]
    assert found("linjiang") == ["临江数据有限公司"]
    assert found("nothing-like-this") == []


def test_private_fields_never_leak(client, operator, api_client):
    org = make_member_organisation(operator, name_zh="隐私测试公司")
    publish_profile(
        org,
        operator=operator,
        description="秘密描述 secret-description",
        contact_email="hidden@example.cn",
        contact_phone="+86 555 0100",
        contact_name="王经理",
        visibility={
            "description": Visibility.PRIVATE,
            "contact_email": Visibility.MEMBERS,
            "contact_phone": Visibility.PRIVATE,
            "contact_name": Visibility.PUBLIC,
        },
    )
    profile_url = reverse("alliance:member_profile", args=[org.pk])
    api_url = f"/api/v1/alliance/directory/{org.pk}/"
    # Anonymous: only public values.
    page = client.get(profile_url).content.decode()
    assert "王经理" in page
    for secret in ("secret-description", "hidden@example.cn", "555 0100"):
        assert secret not in page
        assert secret not in client.get(INDEX).content.decode()
        assert secret not in api_client.get(api_url).content.decode()
        assert secret not in api_client.get("/api/v1/alliance/directory/").content.decode()
    # Search does not find private text.
    assert not list(directory.entries(directory.DirectoryQuery.from_params({"q": "secret-description"})))
    assert api_client.get("/api/v1/alliance/directory/", {"q": "secret-description"}).json()["results"] == []
    # Another alliance member sees members-only values, not private ones.
    other = make_member_organisation(operator)
    client.force_login(manager_of(other))
    page = client.get(profile_url).content.decode()
    assert "hidden@example.cn" in page
    assert "secret-description" not in page and "555 0100" not in page
    api_client.force_authenticate(manager_of(other))
    body = api_client.get(api_url).content.decode()
    assert "hidden@example.cn" in body and "555 0100" not in body
    # A signed-in person of no member organisation sees public values only.
    client.force_login(UserFactory())
    assert "hidden@example.cn" not in client.get(profile_url).content.decode()
    # The organisation itself sees everything.
    client.force_login(manager_of(org))
    page = client.get(profile_url).content.decode()
    assert "secret-description" in page and "555 0100" in page


def test_profile_edit_is_moderated_and_privacy_is_immediate(
    client, operator, django_capture_on_commit_callbacks, mailoutbox
):
    org = make_member_organisation(operator, name_zh="编辑测试公司")
    owner = manager_of(org)
    publish_profile(org, operator=operator, description="Old words", contact_email="a@example.cn")
    client.force_login(owner)
    url = reverse("alliance:profile_edit", args=[org.pk])
    form = {
        "description": "New words",
        "website": "",
        "contact_name": "",
        "contact_email": "a@example.cn",
        "contact_phone": "",
        **{
            f"visibility_{n}": "public"
            for n in ("description", "logo", "website", "contact_name", "contact_phone", "capabilities")
        },
        "visibility_contact_email": "private",
    }
    assert client.post(url, form).status_code == 302
    revision = ProfileRevision.objects.get(organisation=org, status=RevisionStatus.PENDING)
    assert revision.data == {"description": "New words"}
    # Not published yet; the privacy change is.
    anonymous = client.__class__()
    page = anonymous.get(reverse("alliance:member_profile", args=[org.pk])).content.decode()
    assert "Old words" in page and "New words" not in page
    assert profiles.get_profile(org).level("contact_email") == "private"
    # An operator approves: now it shows, and the entry's search document has it.
    with django_capture_on_commit_callbacks(execute=True):
        profiles.approve_revision(revision, by=operator)
    assert "New words" in anonymous.get(reverse("alliance:member_profile", args=[org.pk])).content.decode()
    assert "new words" in DirectoryEntry.objects.get(pk=org.pk).search_document
    assert len(mailoutbox) == 1


def test_profile_rejection_needs_reason_and_only_operators_decide(operator):
    org = make_member_organisation(operator)
    owner = manager_of(org)
    revision = profiles.propose_profile_change(org, by=owner, values={"description": "Hello"})
    with pytest.raises(NotAllowed):
        profiles.approve_revision(revision, by=owner)
    with pytest.raises(Exception):
        profiles.reject_revision(revision, by=operator, reason="")
    profiles.reject_revision(revision, by=operator, reason="Please describe your AI work")
    assert profiles.get_profile(org).description == ""


def test_profile_edit_by_a_stranger_is_404(client, operator):
    org = make_member_organisation(operator)
    client.force_login(UserFactory())
    assert client.get(reverse("alliance:profile_edit", args=[org.pk])).status_code == 404


def test_bad_logo_upload_is_refused(client, operator):

    org = make_member_organisation(operator)
    client.force_login(manager_of(org))
    form = {
        f"visibility_{n}": "public"
        for n in (
            "description",
            "logo",
            "website",
            "contact_name",
            "contact_email",
            "contact_phone",
            "capabilities",
        )
    }
    form["logo"] = SimpleUploadedFile("logo.png", b"not an image", content_type="image/png")
    response = client.post(reverse("alliance:profile_edit", args=[org.pk]), form)
    assert response.status_code == 200
    assert response.context["form"].errors["logo"]
    assert not ProfileRevision.objects.exists()


def test_good_logo_is_moderated_then_shown(client, operator):

    org = make_member_organisation(operator)
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), "blue").save(buffer, "PNG")
    logo = SimpleUploadedFile("logo.png", buffer.getvalue(), content_type="image/png")
    revision = profiles.propose_profile_change(org, by=manager_of(org), values={}, logo=logo)
    profiles.approve_revision(revision, by=operator)
    entry = DirectoryEntry.objects.get(pk=org.pk)
    assert entry.logo.startswith("alliance/logos/")
    assert entry.logo in client.get(INDEX).content.decode()


def test_directory_page_query_count_is_constant(client, operator, django_assert_max_num_queries):
    tag = make_capability("nlp", "自然语言处理", "NLP")
    for _ in range(3):
        org = make_member_organisation(operator)
        publish_profile(org, operator=operator, capabilities=[tag])
    with django_assert_max_num_queries(MAX_DIRECTORY_QUERIES):
        assert client.get(INDEX, {"q": "测试"}).status_code == 200
    for _ in range(12):
        org = make_member_organisation(operator)
        publish_profile(org, operator=operator, capabilities=[tag])
    with django_assert_max_num_queries(MAX_DIRECTORY_QUERIES):
        assert client.get(INDEX, {"q": "测试"}).status_code == 200
    with django_assert_max_num_queries(MAX_DIRECTORY_QUERIES):
        response = client.get(INDEX)
    assert sum(f.count for f in response.context["facets"]["kind"]) == 15
    # The same page again: the counts come from the cache (entries, capabilities and the state only).
    with django_assert_max_num_queries(3):
        client.get(INDEX)
    # A change shows at once: the cached counts belong to the previous state.
    make_member_organisation(operator)
    assert sum(f.count for f in client.get(INDEX).context["facets"]["kind"]) == 16


def test_statistics(operator):
    make_member_organisation(operator, kind=OrganisationKind.ENTERPRISE, sector=Sector.HEALTHCARE)
    make_member_organisation(operator, kind=OrganisationKind.UNIVERSITY, sector=Sector.EDUCATION, uscc="")
    stats = directory.statistics()
    assert stats["total"] == 2
    assert sum(n for _l, n in stats["by_kind"]) == 2
    assert stats["joins_per_year"] == [(str(timezone.localdate().year), 2)]


def test_renamed_organisation_is_resynced_by_the_daily_task(operator):

    org = make_member_organisation(operator, name_zh="旧名称公司")
    Organisation.objects.filter(pk=org.pk).update(
        name_zh="新名称公司", updated_at=timezone.now() + timedelta(seconds=5)
    )
    membership_services.recheck_memberships()
    assert DirectoryEntry.objects.get(pk=org.pk).name_zh == "新名称公司"


def test_a_change_warms_the_directory_before_the_first_visitor(
    client, operator, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    make_member_organisation(operator)
    client.get(INDEX)
    with django_capture_on_commit_callbacks(execute=True):
        make_member_organisation(operator, kind=OrganisationKind.UNIVERSITY, uscc="")
    # The task ran after the commit: the first visit of the changed directory computes no counts (entries,
    # capabilities and the state only), in either language, and they are the new ones.
    for language in ("en", "zh-hans"):
        with django_assert_max_num_queries(3):
            response = client.get(INDEX, HTTP_ACCEPT_LANGUAGE=language)
        assert sum(f.count for f in response.context["facets"]["kind"]) == 2
    # A burst of changes is warmed once, after the last of them is committed.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        make_member_organisation(operator)
        make_member_organisation(operator)
    with django_assert_max_num_queries(3):
        response = client.get(INDEX)
    assert sum(f.count for f in response.context["facets"]["kind"]) == 4
    assert len(callbacks) >= 2


def test_the_warm_up_renders_the_directorys_first_page_for_visitors_in_each_language(
    client, operator, django_capture_on_commit_callbacks, django_assert_num_queries
):
    make_member_organisation(operator, name_zh="预热前机构")
    client.get(INDEX)
    with django_capture_on_commit_callbacks(execute=True):
        make_member_organisation(operator, name_zh="预热后机构")
    # The task rendered the page after the commit: the first visitor's asks the database nothing, in either
    # language, and shows the new member.
    for language in ("en", "zh-hans"):
        with django_assert_num_queries(0):
            page = client.get(INDEX, HTTP_ACCEPT_LANGUAGE=language).content.decode()
        assert "预热后机构" in page


def test_the_nightly_warm_up_is_scheduled():
    from django.conf import settings

    assert (
        settings.CELERY_BEAT_SCHEDULE["warm-alliance-directory"]["task"]
        == "alliance.tasks.warm_directory_task"
    )


def test_a_page_seen_before_asks_the_database_nothing(client, operator, django_assert_num_queries):
    org = make_member_organisation(operator, name_zh="缓存测试机构")
    first = client.get(INDEX, {"q": "缓存"}).content.decode()
    with django_assert_num_queries(0):  # the directory's state and the body come from the cache
        again = client.get(INDEX, {"q": "缓存"}).content.decode()
    assert "缓存测试机构" in first and "缓存测试机构" in again
    # Another language, or signed in: another body.
    with translation.override("en"):
        english = client.get(INDEX, {"q": "缓存"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Industry alliance directory" in english
    client.force_login(UserFactory())
    assert reverse("alliance:mine") in client.get(INDEX, {"q": "缓存"}).content.decode()
    client.logout()
    # A change of the directory is a new state: the page shows it at once.
    membership = AllianceMembership.objects.get(organisation=org)
    membership_services.suspend_membership(membership, by=operator, reason="Unpaid fee")
    assert "缓存测试机构" not in client.get(INDEX, {"q": "缓存"}).content.decode()


def test_a_visitors_profile_is_reused_until_what_it_shows_changes(
    client, operator, django_assert_num_queries
):
    from django.core.cache import cache

    org = make_member_organisation(operator, name_zh="缓存测试公司")
    publish_profile(
        org, operator=operator, contact_name="李主任", visibility={"contact_name": Visibility.PUBLIC}
    )
    url = reverse("alliance:member_profile", args=[org.pk])
    cache.clear()
    assert "李主任" in client.get(url).content.decode()
    with django_assert_num_queries(0):  # the entry and the body are kept
        assert "李主任" in client.get(url).content.decode()
    # Hiding a value takes effect on the very next visit.
    publish_profile(org, operator=operator, visibility={"contact_name": Visibility.PRIVATE})
    assert "李主任" not in client.get(url).content.decode()
    # So does leaving the directory: the kept entry belongs to the state before.
    membership_services.suspend_membership(
        AllianceMembership.objects.get(organisation=org), by=operator, reason="Unpaid fee"
    )
    assert client.get(url).status_code == 404
    # The organisation's own people see it all, never a visitor's kept page.
    client.force_login(manager_of(org))
    assert "李主任" in client.get(url).content.decode()


def test_a_change_written_to_an_entry_or_its_capabilities_is_a_new_state(client, operator):
    """The directory's state follows every save of an entry and every change of its capabilities, not only the
    services' syncs (the admin, a data fix): the cached counts and the kept body are never shown for it."""
    tag = make_capability("cv", "计算机视觉", "Computer vision")
    org = make_member_organisation(operator, name_zh="状态测试机构")
    assert "状态测试机构" in client.get(INDEX).content.decode()
    entry = DirectoryEntry.objects.get(pk=org.pk)
    entry.name_zh = "状态改名机构"
    entry.save()
    assert "状态改名机构" in client.get(INDEX).content.decode()
    assert sum(f.count for f in client.get(INDEX, {"capability": "cv"}).context["facets"]["kind"]) == 0
    entry.capabilities.add(tag)
    assert sum(f.count for f in client.get(INDEX, {"capability": "cv"}).context["facets"]["kind"]) == 1
    # A write that sends no signal starts a new state through the directory's own call.
    DirectoryEntry.objects.filter(pk=org.pk).update(name_zh="批量改名机构")
    directory.STATE.forget()
    assert "批量改名机构" in client.get(INDEX).content.decode()
