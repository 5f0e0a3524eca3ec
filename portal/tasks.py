"""Thin tasks of the portal's own pages."""

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse
from django.utils import translation

from core import pagecache
from portal import home, oversight


@shared_task(acks_late=True)
def refresh_transparency_task() -> int:
    """Every TRANSPARENCY_REFRESH_MINUTES minutes (Celery beat): make the public transparency page's figures anew
    in each language and render the page for visitors, and the home page's figures, so that no visitor waits
    for the aggregates (portal.oversight.transparency_figures, portal/home.py). Returns the pages rendered."""
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            oversight.transparency_figures(refresh=True)
    home.home_stats(refresh=True)  # also after writes that sent no signal (portal/home.py)
    return pagecache.render_for_visitors(reverse("transparency"))


@shared_task(acks_late=True)
def refresh_home_stats_task() -> dict:
    """A moment after an organisation is saved or deleted: count the home page's figures anew
    (portal/home.py), so no visitor counts them."""
    cache.delete(home.PENDING_KEY)  # a change from now on schedules another refresh
    return home.home_stats(refresh=True)
