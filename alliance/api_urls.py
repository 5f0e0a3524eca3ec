"""The alliance platform's REST API, mounted under /api/v1/ by portal/api_urls.py."""

from rest_framework.routers import SimpleRouter

router = SimpleRouter()

urlpatterns = router.urls
