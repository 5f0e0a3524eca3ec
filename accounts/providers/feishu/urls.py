from accounts.chinese_apps import PortalFeishuAdapter, PortalFeishuProvider, provider_urlpatterns

urlpatterns = provider_urlpatterns(PortalFeishuProvider, PortalFeishuAdapter)
