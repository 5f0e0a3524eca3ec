"""Public-sector fitness: every reachable page passes axe-core's WCAG 2.1 A/AA rules, loads nothing from
other hosts, violates nothing of the Content-Security-Policy, and the main paths work with the keyboard alone.

axe-core comes from the npm registry (package.json, package-lock.json): install it with
``scripts/install-axe.sh``. Without it the crawl skips loudly on a laptop and fails in CI.
"""

import os
import re
from concurrent.futures import ThreadPoolExecutor
from importlib import import_module
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Page, expect, sync_playwright

from accounts import onboarding, services
from accounts.models import (
    Invitation,
    Membership,
    MembershipRole,
    Organisation,
    OrganisationKind,
    Sector,
    User,
)
from compute.identities import keys as identity_keys
from compute.identities.models import ClusterIdentity
from compute.jobs import catalogue as job_catalogue
from compute.jobs import services as job_services
from tests.accounts.factories import PASSWORD, UserFactory, make_operator, make_organisation, make_supervisor
from tests.compute.factories import make_allocation, make_quota_request
from tests.compute.identity_helpers import make_identity, new_public_key
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, DEFAULT_TIMEOUT_MS
from tests.e2e.crawl import AXE_JS, PAGE_CAP, CrawlResult, crawl, run_axe, start_urls

IN_CI = os.environ.get("CI", "").lower() == "true"
CHINESE_TOO = {"visitor", "member"}  # personas crawled in Simplified Chinese as well
LANES = int(os.environ.get("A11Y_LANES", "2"))  # 1: one browser, one persona after the other (to debug)
PLATFORM_WORLDS = ("alliance", "projects", "talent")  # each has tests/<app>/world.py with build(world, ...)
# Each app's tests/<app>/world.py has ``build(world, *, organisation)``, which makes objects in interesting
# states through the services and adds to the world:
#
# - ``world["values"][name]``: ids (or other values) for the URL placeholders of this platform's pages, keyed
#   by placeholder name or by the path segment before an ``<int:pk>`` (see tests/e2e/crawl.py);
# - ``world["personas"][name]``: more users to crawl as (signed in), e.g. a reviewer or an instructor.
#
# ``world`` also holds the crawl's "operator", "supervisor" and "member" users; ``organisation`` is the
# member's verified organisation.
MAX_REPORTED = 300  # lines of violations in the failure message (the total is always given)
REPORT = Path(__file__).resolve().parents[2] / "var" / "accessibility-report.txt"  # every problem, last run


@pytest.fixture
def axe_js():
    if not AXE_JS.exists():
        if IN_CI:
            pytest.fail(
                f"axe-core is required in CI but {AXE_JS} is missing: run scripts/install-axe.sh",
                pytrace=False,
            )
        pytest.skip("SKIPPED, AXE-CORE MISSING: run scripts/install-axe.sh")
    return AXE_JS


# --- the world the personas live in, made through the services so every state is real ------------------


def build_world() -> dict:
    operator = make_operator(name="Chen Jing", email="operator@example.cn")
    supervisor = make_supervisor(name="Liu Yang", email="supervisor@example.cn")
    member = UserFactory(name="Zhang Min", email="zhang.min@example.cn")
    colleague = UserFactory(name="Wang Lei", email="wang.lei@example.cn")
    other_owner = UserFactory(name="Zhao Hong", email="zhao.hong@example.cn")

    # The member's own organisations: verified (with a colleague), rejected, not yet submitted.
    verified = make_organisation(
        member,
        name_zh="滨海视觉科技有限公司",
        name_en="Binhai Vision Technology Co., Ltd.",
        city="滨海",
        website="https://vision.example.cn",
        description="Computer vision for port logistics.",
    )
    services.submit_organisation_for_verification(verified, by=member)
    verified = services.verify_organisation(verified, by=operator)
    invitation = services.invite_member(
        verified, by=member, email=colleague.email, role=MembershipRole.MEMBER
    )
    services.accept_invitation(invitation, user=colleague)
    services.change_member_role(
        Membership.objects.get(organisation=verified, user=colleague), by=member, role=MembershipRole.ADMIN
    )
    services.invite_member(verified, by=member, email="newcomer@example.cn", role=MembershipRole.MEMBER)
    declined = services.invite_member(
        verified, by=member, email=other_owner.email, role=MembershipRole.MEMBER
    )
    services.decline_invitation(declined, user=other_owner)
    revoked = services.invite_member(
        verified, by=member, email="former@example.cn", role=MembershipRole.MEMBER
    )
    services.revoke_invitation(revoked, by=member)

    rejected = make_organisation(
        member,
        name_zh="滨海数据服务有限公司",
        name_en="Binhai Data Services Co., Ltd.",
        sector=Sector.FINANCE,
    )
    services.submit_organisation_for_verification(rejected, by=member)
    services.reject_organisation(
        rejected, by=operator, reason="The code does not match the national enterprise credit register."
    )
    unverified = make_organisation(
        member,
        name_zh="滨海理工大学",
        name_en="Binhai University of Technology",
        kind=OrganisationKind.UNIVERSITY,
    )
    services.update_organisation(unverified, by=member, city="滨海新区")

    # Someone else's: one waiting for the operators, one verified that invites the member.
    pending = make_organisation(
        other_owner, name_zh="海港智能研究院", kind=OrganisationKind.RESEARCH_INSTITUTE
    )
    services.submit_organisation_for_verification(pending, by=other_owner)
    inviting = make_organisation(other_owner, name_zh="滨海医疗人工智能有限公司", sector=Sector.HEALTHCARE)
    services.submit_organisation_for_verification(inviting, by=other_owner)
    services.verify_organisation(inviting, by=operator)
    services.invite_member(inviting, by=other_owner, email=member.email, role=MembershipRole.ADMIN)

    # Compute: an active allocation on the fake cluster, a request waiting for review and a draft.
    allocation = make_allocation(member, verified, username="zhangmin")
    waiting = make_quota_request(
        member, verified, username="zhangmin2", purpose="Fine-tune a port-logistics model"
    )
    draft = make_quota_request(member, verified, submit=False, username="zhangmin3", amount=50)
    # Bulk onboarding: a list in preview (one bad row) and a domain not yet verified.
    onboarding_batch = onboarding.preview_batch(
        verified, by=member, text="new.colleague@example.cn,admin,New Colleague\nnot-an-address\n"
    )
    onboarding_domain = onboarding.add_domain(verified, by=member, domain="harbour-robotics.example.cn")

    organisations = list(Organisation.objects.order_by("pk"))
    assert {o.verification_status for o in organisations} == {"unverified", "pending", "verified", "rejected"}
    invitations = list(Invitation.objects.order_by("pk"))
    # URL parameters the crawl can fill (see tests/e2e/crawl.py): by placeholder name, or by the path
    # segment before an ``<int:pk>``.
    values = {
        "organisation": [o.pk for o in organisations],
        "verification": [o.pk for o in organisations],
        "membership": list(Membership.objects.order_by("pk").values_list("pk", flat=True)),
        "invitation": [i.pk for i in invitations],
        "token": [i.token for i in sorted(invitations, key=lambda i: i.email != member.email)],
        "request": [allocation.request_id, waiting.pk, draft.pk],
        "allocation": [allocation.pk],
        "onboarding": [onboarding_batch.pk],
        "domains": [onboarding_domain.pk],
    }
    # Cluster access (compute/identities/): the member's identity with a key, their organisation's people.
    identity = ClusterIdentity.objects.filter(user=member).first() or make_identity(member, "zhang-min")
    ssh_key = identity_keys.add_key(member, new_public_key(comment="zhang.min@laptop"), name="laptop")
    values.update({"organisation_pk": [verified.pk], "identities": [identity.pk], "keys": [ssh_key.pk]})
    # Jobs (compute/jobs/): one from a script on the fake cluster, so the queue and a job's page are crawled.
    job_services.submit_job(
        job_services.JobRequest(
            allocation=allocation,
            script="#!/bin/bash\necho hello\n",
            name="crawl",
            cards_per_node=1,
            cpus_per_node=1,
            memory_gb=1,
            time_limit_minutes=10,
        ),
        by=member,
    )
    # The algorithm catalogue (compute/jobs/catalogue.py): a published template with every parameter type on
    # the allocation's partition, and a draft only operators see.
    template_fields = dict(
        kind="pytorch",
        script="#!/bin/bash\necho ${epochs} ${model} ${note} ${amp} ${lr}\n",
        parameters=[
            {
                "name": "epochs",
                "type": "int",
                "label_en": "Epochs",
                "label_zh": "轮数",
                "default": 3,
                "min": 1,
            },
            {"name": "model", "type": "choice", "label_en": "Model", "default": "a", "choices": ["a", "b"]},
            {"name": "note", "type": "text", "label_en": "Note", "help_en": "Any words.", "default": "hi"},
            {"name": "amp", "type": "bool", "label_en": "Mixed precision", "default": True},
            {"name": "lr", "type": "float", "label_en": "Learning rate", "default": 0.1, "max": 1},
        ],
        cards_per_node=1,
    )
    published = job_catalogue.create_job_template(
        by=operator,
        slug="crawl-train",
        name_en="Crawl training",
        name_zh="爬取训练",
        summary_en="A template to crawl.",
        partitions=[allocation.partition],
        **template_fields,
    )
    job_catalogue.publish_job_template(published, by=operator)
    drafted = job_catalogue.create_job_template(
        by=operator, slug="crawl-draft", name_en="Crawl draft", name_zh="爬取草稿", **template_fields
    )
    values.update(
        {"templates:slug": [published.slug, drafted.slug], "job-templates": [published.pk, drafted.pk]}
    )
    world = {
        "operator": operator,
        "supervisor": supervisor,
        "member": member,
        "values": values,
        "personas": {},  # more signed-in personas (reviewer, instructor...) added by the platforms
    }
    # Each platform adds its objects, URL values and personas (tests/<app>/world.py).
    for app in PLATFORM_WORLDS:
        import_module(f"tests.{app}.world").build(world, organisation=verified)
    return world


def session_cookie(user: User) -> str:
    """A signed-in session made by Django itself (the login form has tests of its own)."""
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def open_context(browser, base_url: str, session: str | None, language: str):
    context = browser.new_context(
        locale="zh-CN" if language == "zh-hans" else "en-US",
        viewport={"width": 1280, "height": 800},
    )  # the portal's Content-Security-Policy stays on: the crawl reports every violation
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    # Generous: the crawl checks pages, not their speed, and must not fail on a busy machine.
    context.set_default_navigation_timeout(3 * DEFAULT_TIMEOUT_MS)
    cookies = [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": base_url}]
    if session is not None:
        cookies.append({"name": settings.SESSION_COOKIE_NAME, "value": session, "url": base_url})
    context.add_cookies(cookies)
    return context


def crawl_lane(browser, base_url: str, personas: list[tuple[str, str | None]], start, axe_js):
    """Crawl as each persona in turn, in English; those marked for it then again in Chinese.

    Each persona gets one browser context. The Chinese crawl revisits the pages the English one checked (the
    same pages, with other texts and lang="zh-Hans"); it has no need to discover them again."""
    results = []
    for name, session in personas:
        for language in ("en", "zh-hans") if name in CHINESE_TOO else ("en",):
            context = open_context(browser, base_url, session, language)
            try:
                if language == "en":
                    result = crawl(context, base_url, name, start, axe_js)
                    english = result
                else:
                    result = crawl(
                        context,
                        base_url,
                        f"{name}/{language}",
                        english.checked_urls,
                        axe_js,
                        follow_links=False,
                    )
            finally:
                context.close()
            results.append(result)
    return results


def crawl_lane_in_own_browser(*args):
    """``crawl_lane`` in a thread of its own: Playwright's sync API wants one instance per thread."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            return crawl_lane(browser, *args)
        finally:
            browser.close()


def report(results: list[CrawlResult]) -> tuple[str, list[str], list[str]]:
    """The summary (pages per persona), the problems grouped (one line per page, rule and impact, with the
    personas that met it and its first targets) and every finding on a line of its own (for the report file)."""
    total = sum(len(r.checked) for r in results)
    summary = ", ".join(f"{r.persona}: {len(r.checked)}" for r in results) + f"; total {total} pages checked"
    grouped: dict[str, dict] = {}
    every = []

    def add(key: str, persona: str, target: str | None = None) -> None:
        entry = grouped.setdefault(key, {"personas": [], "targets": []})
        if persona not in entry["personas"]:
            entry["personas"].append(persona)
        if target and target not in entry["targets"]:
            entry["targets"].append(target)

    for r in results:
        if r.capped:
            add(f"stopped at the cap of {PAGE_CAP} pages: raise PAGE_CAP or skip more", r.persona)
        for page, message in r.errors:
            add(f"{page}  error: {message}", r.persona)
        for page, url in r.foreign_requests:
            add(f"{page}  requested another host: {url}", r.persona)
            every.append(f"[{r.persona}] {page}  requested another host: {url}")
        for page, message in r.csp_violations:
            add(f"{page}  Content-Security-Policy: {message}", r.persona)
            every.append(f"[{r.persona}] {page}  Content-Security-Policy: {message}")
        for v in r.violations:
            add(f"{v.page}  {v.rule} ({v.impact}): {v.help}", r.persona, v.target)
            every.append(f"[{r.persona}] {v.line()}")
    problems = []
    for key, entry in grouped.items():
        line = f"{key}  [{', '.join(entry['personas'])}]"
        targets = entry["targets"]
        if targets:
            line += (
                "\n      at "
                + " | ".join(targets[:4])
                + (f" (+{len(targets) - 4} more)" if len(targets) > 4 else "")
            )
        problems.append(line)
    return summary, problems, every


def test_every_reachable_page_is_accessible_and_self_contained(
    axe_js, browser, live_server, mfa, transactional_db, capsys
):
    world = build_world()
    mfa(world["operator"])
    mfa(world["supervisor"])
    base = live_server.url
    start = start_urls(world["values"])

    sessions = {
        "visitor": None,
        "member": session_cookie(world["member"]),
        "operator": session_cookie(world["operator"]),
        "supervisor": session_cookie(world["supervisor"]),
    }
    sessions.update({name: session_cookie(user) for name, user in world["personas"].items()})
    # Two lanes of about the same length, one in a second browser in a thread: the machine has two cores,
    # and while one lane waits for the live server the other runs axe.
    lanes = [["visitor", "operator"], ["member", "supervisor"]]
    for index, name in enumerate(world["personas"]):
        lanes[index % 2].append(name)
    common = (start.urls, axe_js)

    def lane(names):
        return [(name, sessions[name]) for name in names]

    if LANES == 1:
        results = crawl_lane(browser, base, lane(lanes[0] + lanes[1]), *common)
    else:
        with ThreadPoolExecutor(max_workers=1) as pool:
            second = pool.submit(crawl_lane_in_own_browser, base, lane(lanes[1]), *common)
            results = crawl_lane(browser, base, lane(lanes[0]), *common)
            results += second.result()
    order = ["visitor", "member", "operator", "supervisor", "visitor/zh-hans", "member/zh-hans"]
    results.sort(key=lambda r: order.index(r.persona) if r.persona in order else len(order))

    summary, problems, every = report(results)
    # Signed-in personas must really be signed in (a broken session would crawl only the public pages).
    for r in results:
        if r.persona.split("/")[0] != "visitor" and "/dashboard/" not in r.checked:
            problems.insert(0, f"never reached the dashboard: is the session cookie set?  [{r.persona}]")
    for persona, page in (
        ("operator", "/operator/verifications/"),
        ("operator", "/admin/"),
        ("supervisor", "/oversight/audit/"),
        ("supervisor", "/admin/"),
    ):
        if not any(r.persona == persona and page in r.checked for r in results):
            problems.insert(0, f"did not reach {page} (staff pages need MFA: is it on?)  [{persona}]")

    with capsys.disabled():
        print(f"\naccessibility crawl: {summary}")
        for r in results:
            print(
                f"  {r.persona}: {len(r.checked)} pages checked ({r.visits} visited, {len(r.post_only)} POST-only, "
                f"{len(r.not_html)} not HTML), "
                f"{len(r.violations)} serious/critical findings"
            )
        if start.unfilled:
            print("  parametrised routes without test objects (not crawled from the URL configuration):")
            print("    " + "\n    ".join(start.unfilled))
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(
        summary + "\n" + "\n".join(problems + ["", "Every finding:"] + every) + "\n", encoding="utf-8"
    )

    if problems:
        shown = problems[:MAX_REPORTED]
        more = (
            f"\n... and {len(problems) - MAX_REPORTED} more (all in {REPORT})"
            if len(problems) > MAX_REPORTED
            else ""
        )
        pytest.fail(
            f"{len(problems)} accessibility or closed-network problems ({summary}):\n"
            + "\n".join(shown)
            + more,
            pytrace=False,
        )


# --- keyboard only ---------------------------------------------------------------------------------------

FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const box = el.getBoundingClientRect();
  return {
    tag: el.tagName.toLowerCase(), id: el.id, name: el.getAttribute('name') || '', type: el.type || '',
    text: (el.innerText || el.value || '').trim(), href: el.getAttribute('href') || '',
    required: !!el.required, inForm: !!el.closest('main form'),
    submit: (el.tagName === 'BUTTON' && (el.type || 'submit') === 'submit') || el.type === 'submit',
    outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0,
    shadow: style.boxShadow !== 'none' && style.boxShadow !== '',
    visible: box.width > 1 && box.height > 1 && box.bottom > 0 && box.right > 0
             && box.top < innerHeight && box.left < innerWidth && style.visibility !== 'hidden'
             && style.opacity !== '0',
  };
}"""


def focused(page: Page) -> dict | None:
    return page.evaluate(FOCUSED)


def assert_focus_visible(info: dict | None, where: str) -> None:
    assert info is not None, f"{where}: nothing has the focus"
    assert info["visible"], f"{where}: the focused element is not visible: {info}"
    assert info["outline"] or info["shadow"], f"{where}: the focused element shows no focus ring: {info}"


@pytest.mark.parametrize("path", ["/", "/accounts/signup/", "/accounts/login/", "/compute/"])
def test_first_tab_reaches_a_visible_skip_link_to_main(page: Page, live_server, path):
    page.goto(live_server.url + path, wait_until="load")
    page.keyboard.press("Tab")
    info = focused(page)
    assert info is not None and info["tag"] == "a", f"the first Tab on {path} focused {info}"
    assert info["text"] == "Skip to main content", info
    assert info["href"] == "#main", info
    assert_focus_visible(info, f"skip link on {path}")

    page.keyboard.press("Enter")
    main = page.get_by_role("main")
    expect(main).to_be_focused()
    assert page.evaluate("() => document.activeElement.id") == "main"
    # The next Tab continues inside the main content, not in the navigation bar.
    page.keyboard.press("Tab")
    assert page.evaluate("() => !!document.activeElement.closest('main')"), focused(page)


def test_focus_is_always_visible_while_tabbing_through_a_page(page: Page, live_server):
    page.goto(live_server.url + "/", wait_until="load")
    stops = 0
    for _ in range(40):
        page.keyboard.press("Tab")
        info = focused(page)
        if info is None:  # back to the address bar: the whole page was tabbed through
            break
        stops += 1
        assert info["outline"] or info["shadow"], f"Tab stop {stops} on / shows no focus ring: {info}"
    assert stops >= 10, f"only {stops} Tab stops on the home page"


def test_sign_up_with_the_keyboard_only(page: Page, live_server):
    email = "keyboard.only@example.cn"
    typed = {"email": email, "name": "Sun Li", "password1": PASSWORD, "password2": PASSWORD}
    page.goto(live_server.url + "/accounts/signup/", wait_until="load")

    # Tab to the first field of the form in the main content.
    for _ in range(40):
        page.keyboard.press("Tab")
        info = focused(page)
        if info and info["inForm"] and info["tag"] in {"input", "select", "textarea"}:
            break
    else:
        pytest.fail("Tab never reached the sign-up form")

    filled = []
    for _ in range(20):
        info = focused(page)
        assert info is not None and info["inForm"], f"focus left the sign-up form before its button: {info}"
        assert_focus_visible(info, f"sign-up field {info['name']!r}")
        if info["submit"]:
            page.keyboard.press("Enter")
            break
        if info["type"] == "checkbox":
            if info["required"]:
                page.keyboard.press("Space")
                filled.append(info["name"])
        elif info["tag"] in {"input", "textarea"} and info["type"] not in {"hidden", "submit", "button"}:
            value = typed.get(info["name"])
            if value is None:
                assert not info["required"], f"the test does not know what to type in {info}"
            else:
                page.keyboard.type(value)
                filled.append(info["name"])
        page.keyboard.press("Tab")
    else:
        pytest.fail(f"never reached the sign-up button (filled {filled})")

    assert {"email", "password1", "password2"} <= set(filled), filled
    expect(page.get_by_text("We have sent an email to you for verification")).to_be_visible()
    assert User.objects.filter(email=email).exists()


def described_by_texts(page: Page, name: str) -> list[str]:
    """The texts of the elements the field's aria-describedby names (each id must be on one element)."""
    control = page.locator(f"main form [name={name}]")
    ids = (control.get_attribute("aria-describedby") or "").split()
    texts = []
    for element_id in ids:
        element = page.locator(f"[id='{element_id}']")
        expect(element, f"aria-describedby of {name} names #{element_id}: one element").to_have_count(1)
        texts.append(element.inner_text())
    return texts


ERROR_NEXT_TO_FIELD = """(name) => {
  const input = document.querySelector(`main form [name=${name}]`);
  return input.getAttribute('aria-describedby').split(/\\s+/).some(id => {
    const el = document.getElementById(id);
    return el && el.parentElement === input.parentElement && el.getAttribute('role') === 'alert'
      && (input.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING);
  });
}"""


def test_a_form_error_is_announced_next_to_its_field(page: Page, live_server, axe_js):
    page.goto(live_server.url + "/accounts/signup/", wait_until="load")
    # Typed in by keyboard: a wrong address, and a password that breaks three rules at once.
    for name, value in (("email", "not-an-email-address"), ("password1", "123"), ("password2", "123")):
        page.locator(f"main form input[name={name}]").focus()
        page.keyboard.type(value)
    page.keyboard.press("Enter")

    email, password = (
        page.locator("main form input[name=email]"),
        page.locator("main form input[name=password1]"),
    )
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(password).to_have_attribute("aria-invalid", "true")
    assert any(re.search(r"valid email", text, re.I) for text in described_by_texts(page, "email"))
    # Every error of a field is in the element it names, not only the first.
    password_errors = "\n".join(described_by_texts(page, "password1"))
    for expected in ("too short", "too common", "entirely numeric"):
        assert expected in password_errors, password_errors
    for name in ("email", "password1"):
        assert page.evaluate(ERROR_NEXT_TO_FIELD, name), f"the error of {name} is not right after the field"
    assert urlsplit(page.url).path == "/accounts/signup/"

    # The page with errors passes axe too (the crawl only sees pages as they first open).
    findings = run_axe(page, "/accounts/signup/ (with errors)", axe_js)
    assert not findings, "\n".join(f.line() for f in findings)


def test_axe_finds_what_it_should(page: Page, axe_js):
    """The checker is not blind: a page with known faults gives the expected serious/critical findings."""
    page.set_content(
        "<html><body><main><img src='data:,'><input type='text'>"
        "<p style='color:#aaa;background:#fff'>faint text</p><a href='/x'></a></main></body></html>"
    )
    rules = {finding.rule for finding in run_axe(page, "test page", axe_js)}
    assert {"html-has-lang", "image-alt", "label", "color-contrast", "link-name"} <= rules, rules


def test_the_crawl_sees_a_csp_violation(browser, live_server, axe_js):
    """The crawl's CSP check is not blind: a page under the portal's policy with an inline style and an inline
    script is reported, once for each."""
    probe = "/csp-probe/"
    page_with_faults = (
        "<!DOCTYPE html><html lang='en'><head><title>probe</title></head><body><main>"
        "<h1 style='color: red'>inline style</h1><script>document.title = 'ran';</script></main></body></html>"
    )
    context = browser.new_context()
    try:
        context.route(
            live_server.url + probe,
            lambda route: route.fulfill(
                status=200,
                content_type="text/html",
                headers={
                    "Content-Security-Policy": "default-src 'self'; style-src 'self'; script-src 'self'"
                },
                body=page_with_faults,
            ),
        )
        result = crawl(context, live_server.url, "probe", [probe], axe_js, follow_links=False)
    finally:
        context.close()
    messages = "\n".join(message for _, message in result.csp_violations)
    assert "style-src" in messages and "script-src" in messages, messages
