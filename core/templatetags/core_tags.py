import hashlib
from decimal import Decimal, InvalidOperation

from django import template
from django.template.loader_tags import BLOCK_CONTEXT_KEY, BlockNode
from django.urls import reverse
from django.utils import formats, translation
from django.utils.html import format_html, format_html_join

from core import chrome, pagecache, rows

register = template.Library()

_CLASSES = {
    "select": "form-select",
    "selectmultiple": "form-select",
    "checkbox": "form-check-input",
    "radio": "form-check-input",
    "file": "form-control",
    "clearable_file": "form-control",
}


@register.simple_tag
def bootstrap_widget(field):
    """Render a bound field's widget with Bootstrap classes and the ARIA links to its help and errors."""
    widget = field.field.widget
    kind = getattr(widget, "input_type", None) or widget.__class__.__name__.lower()
    css = _CLASSES.get(kind, "form-control")
    if field.errors:
        css += " is-invalid"
    attrs = {"class": css}
    described = []
    if field.help_text:
        described.append(f"{field.auto_id}_help")
    if field.errors:
        described.append(f"{field.auto_id}_error")
        attrs["aria-invalid"] = "true"
    if described:
        attrs["aria-describedby"] = " ".join(described)
    return field.as_widget(attrs=attrs)


@register.filter
def money(value, places: int = 2):
    """An amount in yuan, grouped and with the currency written as readers of the active language expect."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        return ""
    text = formats.number_format(amount, decimal_pos=int(places), use_l10n=True, force_grouping=True)
    if (translation.get_language() or "en").startswith("zh"):
        return f"¥{text}"
    return f"CNY {text}"


@register.filter
def percent(ratio):
    """A ratio (0.3) as a percentage in the active language's number format ("30 %", "12.5 %")."""
    try:
        value = (Decimal(str(ratio)) * 100).normalize()
    except (InvalidOperation, TypeError, ValueError):
        return ""
    places = max(0, -value.as_tuple().exponent)
    return f"{formats.number_format(value, decimal_pos=min(places, 1), use_l10n=True)} %"


@register.filter
def width_class(percent) -> str:
    """The class that makes a bar ``percent`` wide (``w-pct-0`` … ``w-pct-100`` in portal.css), rounded and
    kept within 0–100: the Content-Security-Policy refuses ``style="width: …"`` attributes."""
    return rows.bar_class(percent)


@register.filter
def status_badge(status) -> str:
    """The Bootstrap colour class of a request's or an allocation's status badge (core.rows)."""
    return rows.status_badge(str(status))


@register.filter
def project_badge(status) -> str:
    """The Bootstrap colour class of an application's, review's, project's or milestone's badge (core.rows)."""
    return rows.project_badge(str(status))


@register.filter
def talent_badge(status) -> str:
    """The Bootstrap colour class of an enrolment's, cohort's, certificate's or course's badge (core.rows)."""
    return rows.talent_badge(str(status))


@register.simple_tag
def breadcrumb(*trail):
    """The breadcrumb trail: pairs of (URL name or path, label), then the current page's label.

    A pair whose label is empty is left out (an optional level). A link that starts with "/" is a path
    (``obj.get_absolute_url``); anything else is a URL name without arguments.
    """
    *pairs, current = trail
    links = format_html_join(
        "",
        '<li class="breadcrumb-item"><a href="{}">{}</a></li>',
        (
            (link if str(link).startswith("/") else reverse(link), label)
            for link, label in zip(pairs[::2], pairs[1::2], strict=True)
            if label not in (None, "")
        ),
    )
    return format_html(
        '<nav aria-label="{}"><ol class="breadcrumb">{}'
        '<li class="breadcrumb-item active" aria-current="page">{}</li></ol></nav>',
        translation.gettext("Breadcrumb"),
        links,
        current,
    )


@register.simple_tag(takes_context=True)
def block_text(context, name):
    """Render the block `name` of the page being rendered again, so that one block (the heading) also
    serves as another (the window title) without writing the text twice."""
    block_context = context.render_context.get(BLOCK_CONTEXT_KEY)
    block = block_context.get_block(name) if block_context else None
    if block is None:
        return ""
    with context.push():
        return block.nodelist.render(context)


class ChromeNode(template.Node):
    # Django looks for the blocks of a page's root template (base.html) on every render by walking all of its
    # nodes: the chrome holds most of them and no block, so the walk skips it.
    child_nodelists = ()

    def __init__(self, part: str, nodelist):
        self.part, self.nodelist = part, nodelist

    def render(self, context):
        return chrome.render(self.part, context, self.nodelist.render)


class KeptNode(template.Node):
    def __init__(self, key, nodelist):
        self.key, self.nodelist = key, nodelist

    def render(self, context):
        key = self.key.resolve(context)
        if not key:
            return self.nodelist.render(context)
        # The page's own template is part of the key: two pages may share a generation and a query string.
        page = getattr(context.template, "name", "")
        return chrome.render_kept(
            f"pagecache:body:{page}:{key}", pagecache.BODY_SECONDS, context, self.nodelist.render
        )


class KeptForVisitorsNode(template.Node):
    def __init__(self, nodelist):
        self.nodelist = nodelist

    def render(self, context):
        request = context.get("request")
        form = context.get("form")
        if (
            request is None
            or request.method != "GET"
            or getattr(request.user, "is_authenticated", True)
            or getattr(form, "is_bound", False)
        ):
            return self.nodelist.render(context)
        digest = hashlib.sha256(request.get_full_path().encode()).hexdigest()[:24]
        page = getattr(context.template, "name", "")
        key = f"pagecache:visitors:{page}:{pagecache.minute()}:{translation.get_language()}:{digest}"
        return chrome.render_kept(key, pagecache.BODY_SECONDS, context, self.nodelist.render)


@register.tag("kept_for_visitors")
def do_kept_for_visitors(parser, token):
    """``{% kept_for_visitors %}...{% endkept_for_visitors %}``: a page that is the same for every visitor of one
    address (a sign-in form: its text and the ``next`` it carries), kept for the minute per language and full
    path. Rendered as it is for a signed-in person, a POST and a form with data (its errors are the visitor's
    own). ``{% csrf_token %}`` inside is filled in per request."""
    nodelist = parser.parse(("endkept_for_visitors",))
    parser.delete_first_token()
    return KeptForVisitorsNode(nodelist)


@register.tag("kept")
def do_kept(parser, token):
    """``{% kept body_key %}...{% endkept %}``: the part of a page that is the same for everyone its key names,
    kept ``core.pagecache.BODY_SECONDS`` (core/pagecache.py says how a view makes the key). Without a key (a
    page kept for nobody) it is rendered as it is. ``{% csrf_token %}`` inside is filled in per request."""
    bits = token.split_contents()
    if len(bits) != 2:
        raise template.TemplateSyntaxError("usage: {% kept key %}...{% endkept %}")
    nodelist = parser.parse(("endkept",))
    parser.delete_first_token()
    return KeptNode(parser.compile_filter(bits[1]), nodelist)


@register.tag("chrome")
def do_chrome(parser, token):
    """``{% chrome "header" %}...{% endchrome %}``: the page chrome, rendered once and reused (core/chrome.py).

    Inside, ``{% csrf_token %}`` and ``{{ CHROME_NEXT }}`` (the current path) are filled in per request, and
    ``CHROME_ACTIVE`` names the platform the page belongs to."""
    bits = token.split_contents()
    if len(bits) != 2 or bits[1][0] not in "'\"" or bits[1][0] != bits[1][-1]:
        raise template.TemplateSyntaxError('usage: {% chrome "name" %}...{% endchrome %}')
    nodelist = parser.parse(("endchrome",))
    parser.delete_first_token()
    if nodelist.get_nodes_by_type(BlockNode):
        raise template.TemplateSyntaxError(
            "{% chrome %} is the same on every page: it cannot hold a {% block %}"
        )
    return ChromeNode(bits[1][1:-1], nodelist)
