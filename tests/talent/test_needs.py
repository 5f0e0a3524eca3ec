"""Alliance talent needs answered by courses: the member is told once when a cohort opens."""

import pytest
from django.urls import reverse

from alliance.models import NeedKind
from core.models import AuditEvent
from talent.forms import CourseForm
from talent.models import CohortStatus, NeedNotice
from talent.services.catalogue import set_cohort_status
from tests.accounts.factories import UserFactory, make_operator, make_verified_organisation
from tests.alliance.factories import make_alliance_member, make_need
from tests.talent.factories import make_cohort, make_course

pytestmark = pytest.mark.django_db


def _need(**fields):
    owner = UserFactory()
    organisation = make_verified_organisation(owner)
    make_alliance_member(organisation)
    need = make_need(
        organisation, kind=NeedKind.TALENT, skills="PyTorch, model fine-tuning", people=6, **fields
    )
    return owner, need


def test_publishing_a_cohort_of_an_answering_course_tells_the_member_once(
    django_capture_on_commit_callbacks, mailoutbox
):
    owner, need = _need()
    operator = make_operator()
    course = make_course()
    course.answers_needs.add(need)
    cohort = make_cohort(course, status=CohortStatus.DRAFT)
    with django_capture_on_commit_callbacks(execute=True):
        set_cohort_status(cohort, status=CohortStatus.PUBLISHED, by=operator)
    told = [m for m in mailoutbox if owner.email in m.to]
    assert len(told) == 1 and need.title in told[0].body and cohort.name in told[0].body
    assert AuditEvent.objects.filter(action="need.training_offered", target_id=str(need.pk)).exists()
    set_cohort_status(cohort, status=CohortStatus.DRAFT, by=operator)
    with django_capture_on_commit_callbacks(execute=True):
        set_cohort_status(cohort, status=CohortStatus.PUBLISHED, by=operator)
    assert len([m for m in mailoutbox if owner.email in m.to]) == 1
    assert NeedNotice.objects.count() == 1


def test_linking_a_need_to_a_course_already_open_tells_the_member_at_once(client, mfa, mailoutbox):
    owner, need = _need()
    operator = make_operator()
    mfa(operator)
    course = make_course()
    make_cohort(course)  # published, enrolment open
    client.force_login(operator)
    form = client.get(reverse("talent:course_edit", args=[course.pk])).content.decode()
    assert need.title in form
    data = {
        "slug": course.slug,
        "title_zh": course.title_zh,
        "title_en": course.title_en,
        "description_zh": course.description_zh,
        "description_en": course.description_en,
        "category": course.category,
        "level": course.level,
        "answers_needs": [need.pk],
        "is_published": "on",
    }
    response = client.post(reverse("talent:course_edit", args=[course.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert list(course.answers_needs.all()) == [need]
    assert NeedNotice.objects.filter(need=need).count() == 1


def test_closed_and_technology_needs_are_not_offered():
    _, talent_need = _need()
    _, technology = _need()
    technology.kind = NeedKind.TECHNOLOGY
    technology.save(update_fields=["kind"])
    choices = list(CourseForm().fields["answers_needs"].queryset)
    assert talent_need in choices and technology not in choices
