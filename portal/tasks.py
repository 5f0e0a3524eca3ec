"""Thin tasks of the portal's own pages."""

from celery import shared_task
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from core import pagecache
from portal import oversight


@shared_task(acks_late=True)
def refresh_transparency_task() -> int:
    """Every TRANSPARENCY_REFRESH_MINUTES minutes (Celery beat): make the public transparency page's figures anew
    in each language and render the page for visitors, so that no visitor waits for the aggregates
    (portal.oversight.transparency_figures). Returns how many pages were rendered."""
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            oversight.transparency_figures(refresh=True)
    return pagecache.render_for_visitors(reverse("transparency"))
