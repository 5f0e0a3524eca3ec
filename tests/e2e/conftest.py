"""Browser tests: real Chromium (Debian's package) driven by Playwright against pytest-django's live server.

Install the browser with ``scripts/install-chromium.sh``. Without it these tests skip loudly on a laptop
and fail in CI.
"""

import os
import re
from pathlib import Path

import pytest

# Playwright's sync API keeps an asyncio event loop in the main thread; Django refuses ORM calls while
# one runs unless told the caller knows what it does (the test body and the live server never overlap).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEFAULT_TIMEOUT_MS = 10_000
E2E_DIR = Path(__file__).resolve().parent
SCREENSHOT_DIR = E2E_DIR.parent.parent / "var" / "e2e-screenshots"
IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_collection_modifyitems(config, items):
    """Everything under tests/e2e is an end-to-end test (``-m "not e2e"`` leaves them out)."""
    for item in items:
        if E2E_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    # Keep each phase's report on the item, so the ``page`` fixtures know whether the test failed.
    report = yield
    setattr(item, f"_e2e_report_{report.when}", report)
    return report


# The browser of the session, shared by every module that uses these fixtures (tests/integration imports them
# too): Playwright's sync API runs one instance per thread, so a second launch in the same session would fail.
_RUNNING: dict = {}


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing: run scripts/install-chromium.sh"
        if IN_CI:
            pytest.fail(f"Chromium is required in CI but {message}", pytrace=False)
        pytest.skip(f"SKIPPED, CHROMIUM MISSING: run scripts/install-chromium.sh ({CHROMIUM} not found)")
    if "browser" in _RUNNING:
        yield _RUNNING["browser"]  # launched by the other module's fixture, which closes it
        return
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=DEFAULT_TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        _RUNNING["browser"] = browser
        try:
            yield browser
        finally:
            _RUNNING.pop("browser", None)
            browser.close()


@pytest.fixture(autouse=True)
def _e2e_settings(settings):
    # The live server speaks plain HTTP on localhost whatever DEBUG said when the settings were read.
    settings.SECURE_SSL_REDIRECT = False
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http"


def _screenshot_on_failure(request, page, suffix: str = "") -> None:
    report = getattr(request.node, "_e2e_report_call", None)
    if report is None or not report.failed:
        return
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)[-150:]
    try:
        page.screenshot(path=str(SCREENSHOT_DIR / f"{name}{suffix}.png"), full_page=True)
    except Exception as exc:  # a crashed page must not hide the test's own failure
        print(f"could not take a screenshot of the failure: {exc}")


@pytest.fixture
def make_page(browser, request, live_server):
    """Open pages in fresh browser contexts (one per person); all are closed after the test."""
    contexts = []

    def make(**context_options):
        options = {"locale": "en-US", "viewport": {"width": 1280, "height": 800}, **context_options}
        context = browser.new_context(**options)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        context.set_default_navigation_timeout(DEFAULT_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for number, context in enumerate(contexts):
        for tab, open_page in enumerate(context.pages):
            _screenshot_on_failure(request, open_page, suffix=f"-{number}{tab or ''}")
        context.close()


@pytest.fixture
def page(make_page):
    """A desktop-sized page (1280x800, en-US) in a fresh browser context (no cookies from other tests)."""
    return make_page()


@pytest.fixture
def phone_page(make_page):
    """A phone-sized touch page (390x844) in a fresh browser context."""
    return make_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
