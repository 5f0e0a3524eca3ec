from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts import views as account_views
from core.uploads import serve_public_media
from portal import health, metrics, oversight, views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("dashboard/", account_views.dashboard, name="dashboard"),
    path("about/privacy/", TemplateView.as_view(template_name="portal/privacy.html"), name="privacy"),
    path("oversight/", oversight.oversight_index, name="oversight"),
    path("oversight/reports/<slug:slug>/", oversight.report, name="oversight_report"),
    path("oversight/audit/", views.audit_trail, name="audit_trail"),
    path("oversight/health/", health.health, name="health"),
    path("transparency/", oversight.transparency, name="transparency"),
    path("accounts/", include("allauth.urls")),
    path("", include("accounts.urls")),
    path("compute/", include("compute.urls")),
    path("projects/", include("projects.urls")),
    path("alliance/", include("alliance.urls")),
    path("talent/", include("talent.urls")),
    path("certificates/", include("talent.certificate_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("portal.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The "split" view serves Swagger UI's start-up script as a file (?script): no inline script for the CSP.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api_docs"),
]

# allauth answers its rate limits with this view (the portal's page, with Retry-After).
handler429 = "accounts.security.too_many_requests"
# Unknown API URLs answer in JSON; pages get the portal's 404 page.
handler404 = "core.web.page_not_found"
# A lost database connection answers 503 (try again), any other failure the 500 page.
handler500 = "core.web.server_error"

if settings.DEBUG:
    # Public pictures only: a private file (projects' attachments) is served by its app's checked view.
    urlpatterns += static(settings.MEDIA_URL, view=serve_public_media, document_root=settings.MEDIA_ROOT)

if settings.BENCH_ENDPOINTS:
    urlpatterns += [path("bench/minimal", views.bench_minimal)]
