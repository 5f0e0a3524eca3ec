"""The kernel's template tags that pages share: the breadcrumb and a block reused as the window title."""

from django.template import Context, Template
from django.template.loader import get_template
from django.utils import translation


def render(source: str, **context) -> str:
    return Template("{% load core_tags %}" + source).render(Context(context))


def test_breadcrumb_links_each_level_and_marks_the_current_page():
    html = render("{% breadcrumb 'compute:index' 'Compute' '/compute/requests/7/' 'Request 7' 'Edit' %}")
    assert '<a href="/compute/">Compute</a>' in html
    assert '<a href="/compute/requests/7/">Request 7</a>' in html
    assert '<li class="breadcrumb-item active" aria-current="page">Edit</li>' in html
    assert 'aria-label="Breadcrumb"' in html


def test_breadcrumb_leaves_out_an_empty_level_and_escapes_labels():
    html = render("{% breadcrumb 'compute:index' '' 'home' 'Home' name %}", name="<b>x</b>")
    assert "/compute/" not in html and '<a href="/">Home</a>' in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html


def test_breadcrumb_label_follows_the_language():
    with translation.override("zh-hans"):
        html = render("{% breadcrumb 'Now' %}")
    assert 'aria-label="Breadcrumb"' not in html


def test_block_text_repeats_a_block_of_the_page(tmp_path, settings):
    base = tmp_path / "base.html"
    base.write_text(
        "{% load core_tags %}<title>{% block title %}{% block_text 'heading' %}{% endblock %}</title>"
        "<h1>{% block heading %}{% endblock %}</h1>"
    )
    page = tmp_path / "page.html"
    page.write_text("{% extends 'base.html' %}{% block heading %}My {{ what }}{% endblock %}")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [str(tmp_path)]}]
    html = get_template("page.html").render({"what": "requests"})
    assert "<title>My requests</title>" in html and "<h1>My requests</h1>" in html
