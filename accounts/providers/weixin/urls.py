from accounts.chinese_apps import PortalWeixinAdapter, PortalWeixinProvider, provider_urlpatterns

urlpatterns = provider_urlpatterns(PortalWeixinProvider, PortalWeixinAdapter)
