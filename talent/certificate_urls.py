"""Public certificate verification, mounted at /certificates/ by portal/urls.py."""

from django.urls import path

from talent.views import certificates

urlpatterns = [
    path("<str:code>/", certificates.certificate_verify, name="certificate_verify"),
    path("<str:code>/pdf/", certificates.certificate_pdf_view, name="certificate_pdf"),
]
