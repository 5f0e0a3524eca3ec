from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts import views as account_views
from portal import oversight, views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("dashboard/", account_views.dashboard, name="dashboard"),
    path("about/privacy/", TemplateView.as_view(template_name="portal/privacy.html"), name="privacy"),
    path("oversight/", oversight.oversight_index, name="oversight"),
    path("oversight/reports/<slug:slug>/", oversight.report, name="oversight_report"),
    path("oversight/audit/", views.audit_trail, name="audit_trail"),
    path("transparency/", oversight.transparency, name="transparency"),
    path("accounts/api-token/", account_views.api_token, name="api_token"),
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
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api_docs"),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

if settings.BENCH_ENDPOINTS:
    urlpatterns += [path("bench/minimal", views.bench_minimal)]
