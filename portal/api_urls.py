"""The REST API under /api/v1/: the routes every app lists in its ``api_urls`` module (``core.hooks.API_URLS``),
with one root view that lists them all.

An app's ``api_urls`` module has a ``router`` (a ``SimpleRouter`` of its viewsets) and, for views that are not
viewsets, ``extra_urlpatterns``."""

from importlib import import_module

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from core import hooks

app_name = "api"

router = DefaultRouter()
extra_urlpatterns = []
for module in map(import_module, hooks.values(hooks.API_URLS)):
    router.registry.extend(module.router.registry)
    extra_urlpatterns += getattr(module, "extra_urlpatterns", [])

urlpatterns = [*extra_urlpatterns, path("", include(router.urls))]
