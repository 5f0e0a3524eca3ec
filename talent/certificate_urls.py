"""Public certificate verification, mounted at /certificates/ by portal/urls.py."""

urlpatterns = []
