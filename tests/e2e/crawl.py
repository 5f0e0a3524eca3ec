"""A same-site crawler for the accessibility test: every page a person can reach, checked with axe-core.

The start URLs come from the URL configuration itself (so a page added later is crawled without editing the
test), then every same-site link found on a visited page is followed, breadth first, up to a cap.
On each HTML page axe-core (installed from npm by ``scripts/install-axe.sh``) runs the WCAG 2.0/2.1 A and AA
rules, every request the page makes is checked to stay on the live server (the portal must work on a
closed network: no CDN, web fonts or analytics), and every Content-Security-Policy violation the page causes
(a ``securitypolicyviolation`` event, or Chromium's console message about the policy) is recorded: the policy
refuses inline scripts and styles, so a template that brings one back is caught here.
"""

from __future__ import annotations

import itertools
import os
import re
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urldefrag, urlsplit

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern

ROOT = Path(__file__).resolve().parents[2]
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
REPORTED_IMPACTS = {"serious", "critical"}
VERBOSE = os.environ.get("A11Y_VERBOSE") == "1"  # print each URL as it is visited (to stderr)
# axe.min.js as an init script of the browser context: compiled once per crawl instead of once per page
# (A11Y_PRELOAD=0: evaluated on each page, which takes about twice as long).
PRELOAD_AXE = os.environ.get("A11Y_PRELOAD", "1") == "1"
PAGE_CAP = 500  # pages visited per persona
SETTLE_SECONDS = 10  # at most, for the requests a page still makes after "load" (and what they change)
QUERY_VARIANTS_PER_PATH = 2  # ?page=2, ?next=... and the like: a few are enough to check a template
VALUES_PER_PARAMETER = 8  # objects tried for one URL parameter (organisation pk, invitation token...)

# Where no page for people is: files, JSON, the language switch (a POST view), signing out.
SKIPPED_PREFIXES = ("/static/", "/media/", "/i18n/")
API_PAGES = ("/api/docs/", "/api/redoc/")  # the API's human-readable documentation; the rest is JSON
ADMIN_PAGE = re.compile(r"^/admin/(?:[a-z0-9_]+/[a-z0-9_]+/)?$")  # the index and the model changelists

# Reported by the page to the crawler's console listener; registered before any script of the page runs.
_CSP_LISTENER = """document.addEventListener('securitypolicyviolation', (e) => console.error(
  `CSP violation: ${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`
  + (e.sample ? ` (${e.sample})` : '')));"""
CSP_MESSAGE = re.compile(r"Content Security Policy|CSP violation", re.I)

_PLACEHOLDER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")

# Runs axe in the page and returns only what the report needs (the full result is large).
_RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.map(t => Array.isArray(t) ? t.join(' >> ') : t).join(' '),
                              impact: n.impact}))
  }));
}"""


def skip_reason(path: str, query: str) -> str | None:
    """Why a same-site URL is not crawled, or None to crawl it."""
    if path.startswith(SKIPPED_PREFIXES):
        return "static, media or language switch"
    if "logout" in path or "set_language" in path or "setlang" in path:
        return "signs out or switches language"
    if path.startswith("/api/") and not path.startswith(API_PAGES):
        return "JSON API"
    if any(key == "format" and value == "csv" for key, value in parse_qsl(query)):
        return "CSV export"
    if path.startswith("/admin/") and (query or not ADMIN_PAGE.match(path)):
        return "the admin's own deep pages"
    return None


# --- start URLs from the URL configuration ---------------------------------------------------------------


def _walk(patterns, prefix=(), namespace=None):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, (*prefix, entry.pattern), namespace or entry.namespace)
        elif isinstance(entry, URLPattern):
            yield (*prefix, entry.pattern), entry, namespace


def _route_template(parts) -> str | None:
    """The pattern chain as one route with ``<converter:name>`` placeholders, or None for a regex with groups."""
    route = ""
    for part in parts:
        if isinstance(part, RoutePattern):
            route += str(part._route)
        elif isinstance(part, RegexPattern):
            if part.regex.groups:
                return None
            literal = part._regex.removeprefix("^").removesuffix("$").removesuffix(r"\Z")
            literal = re.sub(r"\\(.)", r"\1", literal)
            if re.search(r"[()\[\]{}*+?|^$]", literal):
                return None
            route += literal
        else:
            return None
    return "/" + route


def _values_for(route: str, match: re.Match, values: dict[str, list]) -> list | None:
    """Values to put in one placeholder: ``<int:pk>`` after ``organisations/`` takes ``values['organisation']``."""
    name = match.group("name")
    if name in values:
        return values[name]
    before = [segment for segment in route[: match.start()].split("/") if segment and "<" not in segment]
    if before:
        word = before[-1]
        for key in (f"{word}:{name}", f"{word.removesuffix('s')}:{name}"):
            if key in values:
                return values[key]
        if name in {"pk", "id"}:
            for key in (word, word.removesuffix("s")):
                if key in values:
                    return values[key]
    return None


@dataclass
class StartUrls:
    urls: dict[str, str]  # path -> the route it was made from (itself when it has no parameters)
    unfilled: list[str]  # parametrised routes the test has no objects for (listed so they are not missed)


def start_urls(values: dict[str, list]) -> StartUrls:
    """Every GET-able path of the URL configuration: routes without parameters, and routes whose parameters
    can be filled from ``values`` (see ``_values_for``). Of the admin only its index: its changelists are
    found as links on that page."""
    urls, unfilled = {}, []
    for parts, pattern, namespace in _walk(get_resolver().url_patterns):
        route = _route_template(parts)
        if namespace == "admin":
            if pattern.name == "index":
                urls[route] = route
            continue
        if route is None:
            text = "/" + "".join(str(part) for part in parts)
            if not skip_reason(text, ""):
                unfilled.append(text + " (regular expression)")
            continue
        placeholders = list(_PLACEHOLDER.finditer(route))
        if not placeholders:
            urls.setdefault(route, route)
            continue
        choices = [_values_for(route, match, values) for match in placeholders]
        if any(not choice for choice in choices):
            if not skip_reason(route, ""):
                unfilled.append(route)
            continue
        for combination in itertools.islice(
            itertools.product(*(choice[:VALUES_PER_PARAMETER] for choice in choices)), VALUES_PER_PARAMETER
        ):
            filled, offset = route, 0
            for match, value in zip(placeholders, combination, strict=True):
                start, end = match.start() + offset, match.end() + offset
                filled = filled[:start] + str(value) + filled[end:]
                offset += len(str(value)) - (match.end() - match.start())
            urls.setdefault(filled, route)
    return StartUrls(urls=urls, unfilled=sorted(set(unfilled)))


# --- the crawl ---------------------------------------------------------------------------------------------


@dataclass
class Violation:
    page: str
    rule: str
    impact: str
    target: str
    help: str

    def line(self) -> str:
        return f"{self.page}  {self.rule} ({self.impact})  {self.target}  — {self.help}"


@dataclass
class CrawlResult:
    persona: str
    # The pages axe ran on: path?query, with the status when it was not 200.
    checked: list[str] = field(default_factory=list)
    checked_urls: list[str] = field(default_factory=list)  # the same, as URLs to visit again
    violations: list[Violation] = field(default_factory=list)
    foreign_requests: list[tuple[str, str]] = field(default_factory=list)  # (page, requested URL)
    csp_violations: list[tuple[str, str]] = field(default_factory=list)  # (page, console message)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (page, what went wrong)
    not_html: list[str] = field(default_factory=list)
    post_only: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    visits: int = 0
    capped: bool = False


def _relative(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def crawl(
    context,
    base_url: str,
    persona: str,
    start: dict[str, str] | list[str],
    axe_source: Path = AXE_JS,
    follow_links: bool = True,
) -> CrawlResult:
    """Visit ``start`` and (with ``follow_links``) every same-site link found, breadth first, in one browser
    context; run axe on each HTML page and record every request that leaves the live server.

    ``start`` maps each path to the route it was made from: when the first path of a parametrised route
    gives no page of its own (405 for a POST-only view, a redirect, 403/404, a download), its other paths
    are not visited."""
    crawler = _Crawler(context, base_url, persona, axe_source)
    try:
        crawler.run(dict(start) if isinstance(start, dict) else {path: path for path in start}, follow_links)
    finally:
        crawler.page.close()
    return crawler.result


class _Crawler:
    def __init__(self, context, base_url: str, persona: str, axe_source: Path):
        self.context, self.base_url, self.persona, self.axe_source = context, base_url, persona, axe_source
        self.origin = urlsplit(base_url)
        self.result = CrawlResult(persona=persona)
        self.current = None  # the page whose requests are being recorded
        self.queue: deque[str] = deque()
        self.seen: set[str] = set()
        self.done: set[str] = set()  # paths (asked for, or reached by a redirect) whose page was handled
        self.variants: dict[str, int] = {}
        self.error_pages: set[tuple[int, str]] = set()  # (status, title) of the 403/404 pages checked
        # Only listen: a route() that blocks other hosts would switch the browser cache off (every page
        # slower); on a closed network such a request fails at once anyway, and it is reported here.
        context.on("request", self._on_request)
        context.add_init_script(script=_CSP_LISTENER)
        if PRELOAD_AXE:
            # The same file as add_script_tag(path=...) would inject, but compiled once for the whole crawl.
            context.add_init_script(path=str(axe_source))
        self.page = self._new_page()

    def _new_page(self):
        page = self.context.new_page()
        self.status = None
        self.in_flight: set = set()
        page.on("response", self._on_response)
        page.on("console", self._on_console)
        page.on("request", lambda request: self.in_flight.add(request))
        page.on("requestfinished", lambda request: self.in_flight.discard(request))
        page.on("requestfailed", lambda request: self.in_flight.discard(request))
        return page

    def settle(self) -> None:
        """After "load", let the requests the page's scripts started finish (the API documentation fetches
        its schema, then draws the page) and the page stop changing: axe must see the page people see, the
        same every time. Costs nothing on a page that made no request after "load"."""
        if not self.in_flight:
            return
        deadline = time.monotonic() + SETTLE_SECONDS
        while self.in_flight and time.monotonic() < deadline:
            self.page.wait_for_timeout(50)
        size = -1
        while time.monotonic() < deadline:
            self.page.wait_for_timeout(150)
            now = self.page.evaluate("() => document.getElementsByTagName('*').length")
            if now == size:
                break
            size = now

    def _on_request(self, request):
        parts = urlsplit(request.url)
        if parts.scheme in {"data", "blob", "about", "chrome-extension", "chrome-error"}:
            return
        if (parts.scheme, parts.netloc) != (self.origin.scheme, self.origin.netloc):
            self.result.foreign_requests.append((self.current or "?", request.url))

    def _on_console(self, message):
        if CSP_MESSAGE.search(message.text):
            self.result.csp_violations.append((self.current or "?", message.text))

    def _on_response(self, response):
        if response.request.is_navigation_request() and response.frame.parent_frame is None:
            self.status = response.status

    def _same_site(self, url: str) -> bool:
        parts = urlsplit(url)
        return (parts.scheme, parts.netloc) == (self.origin.scheme, self.origin.netloc)

    def enqueue(self, url: str) -> None:
        url = urldefrag(url)[0]
        if not self._same_site(url):
            return
        relative = _relative(url)
        if relative in self.seen:
            return
        self.seen.add(relative)
        parts = urlsplit(url)
        reason = skip_reason(parts.path, parts.query)
        if reason:
            self.result.skipped[relative] = reason
            return
        self.queue.append(relative)

    def over_variants(self, relative: str) -> bool:
        """Count a URL with a query string against its path; True when the path has had enough of them."""
        parts = urlsplit(relative)
        if not parts.query:
            return False
        if self.variants.get(parts.path, 0) >= QUERY_VARIANTS_PER_PATH:
            return True
        self.variants[parts.path] = self.variants.get(parts.path, 0) + 1
        return False

    def run(self, routes: dict[str, str], follow_links: bool) -> None:
        result = self.result
        route_tried: dict[str, str] = {}  # route -> its first path visited
        route_failed: set[str] = set()
        for path in routes:
            self.enqueue(self.base_url + path)
        while self.queue:
            relative = self.queue.popleft()
            if relative in self.done or self.over_variants(relative):
                continue
            route = routes.get(relative)
            first_of_route = False
            if route is not None and route != relative:
                if route in route_failed:
                    result.skipped[relative] = f"like {route_tried[route]}"
                    continue
                first_of_route = route not in route_tried
                route_tried.setdefault(route, relative)
            if result.visits >= PAGE_CAP:
                result.capped = True
                break
            result.visits += 1
            self.done.add(relative)
            self.current = relative
            if VERBOSE:
                print(f"{time.monotonic():.1f} [{self.persona}] {relative}", file=sys.__stderr__, flush=True)
            outcome, checked_ok = self.visit(relative)
            if VERBOSE:
                print(f"   -> {outcome} {self.page.url}", file=sys.__stderr__, flush=True)
            if first_of_route and outcome != "page":
                route_failed.add(route)
            if checked_ok and follow_links:
                for href in self.page.eval_on_selector_all(
                    "a[href], area[href]", "els => els.map(e => e.href)"
                ):
                    self.enqueue(href)

    def visit(self, relative: str) -> tuple[str, bool]:
        """Open one path and check what it shows. Returns what it was ("page" for an HTML page of its own,
        "redirect", "post-only", "HTTP 404"...) and whether an HTML page with status 200 was checked."""
        result = self.result
        self.status = None
        self.in_flight.clear()
        try:
            response = self.page.goto(self.base_url + relative, wait_until="load")
        except Exception as exc:
            message = str(exc).splitlines()[0]
            # Chromium gives up on an error response without a body (a POST-only view answers 405 so), and
            # on a download; either way the tab is left in a state that spoils the next navigation.
            status = self.status
            self.page.close()
            self.page = self._new_page()
            if status == 405:
                result.post_only.append(relative)
                return "post-only", False
            if "Download is starting" in message:
                result.not_html.append(relative)
                return "download", False
            result.errors.append((relative, message if status is None else f"HTTP {status}: {message}"))
            return "error", False
        if response is None:
            result.errors.append((relative, "no response"))
            return "error", False
        final = urldefrag(self.page.url)[0]
        if not self._same_site(final):
            result.errors.append((relative, f"redirected off the site to {final}"))
            return "error", False
        label = _relative(final)
        outcome = "page"
        if label != relative:
            # A redirect (to the login page, to a canonical URL): check that page once, under its own URL.
            outcome = "redirect"
            if label in self.done or self.over_variants(label):
                return outcome, False
            self.done.add(label)
            self.seen.add(label)
            self.current = label
        status = response.status
        content_type = (response.headers.get("content-type") or "").split(";")[0].strip()
        if status == 405:
            result.post_only.append(label)
            return "post-only", False
        if content_type != "text/html":
            result.not_html.append(label)
            return "not html", False
        if status >= 500:
            result.errors.append((label, f"HTTP {status}"))
            return "error", False
        self.settle()
        if status != 200:
            # 403 and 404 pages are pages people see too: check each kind (by its title) once.
            kind = (status, self.page.title())
            if kind not in self.error_pages:
                self.error_pages.add(kind)
                self.check(label, f"{label} [HTTP {status}]")
            return f"HTTP {status}", False
        return outcome, self.check(label, label)

    def check(self, path: str, label: str) -> bool:
        """Run axe on the open page."""
        result = self.result
        try:
            found = run_axe(self.page, label, self.axe_source)
        except Exception as exc:
            result.errors.append((label, f"axe could not run: {str(exc).splitlines()[0]}"))
            return False
        result.checked.append(label)
        result.checked_urls.append(path)
        result.violations.extend(found)
        return True


def run_axe(page, label: str, axe_source: Path = AXE_JS) -> list[Violation]:
    """The serious and critical WCAG 2.0/2.1 A and AA violations on the open page, by axe-core."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # Evaluated through the DevTools protocol, not as a <script> element: the portal's
        # Content-Security-Policy (script-src 'self') refuses inline scripts, and the pages are checked under it.
        page.evaluate(Path(axe_source).read_text(encoding="utf-8"))
    return [
        Violation(page=label, rule=v["id"], impact=impact, target=_short(node["target"]), help=v["help"])
        for v in page.evaluate(_RUN_AXE, WCAG_TAGS)
        for node in v["nodes"]
        if (impact := node.get("impact") or v.get("impact")) in REPORTED_IMPACTS
    ]


def _short(selector: str, limit: int = 90) -> str:
    """The selector, or its end when it is long (the end names the element)."""
    return selector if len(selector) <= limit else "…" + selector[-(limit - 1) :]
