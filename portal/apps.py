from urllib.parse import urlsplit

from django.apps import AppConfig, apps
from django.conf import settings
from django.db.models.signals import post_delete, post_migrate, post_save
from django.utils.translation import gettext_lazy as _


def _name_the_site(sender, using="default", **kwargs):
    """allauth's mails name the Site: keep it the portal's, not Django's example.com."""
    site_model = apps.get_model("sites", "Site")
    domain = urlsplit(settings.SITE_URL).netloc or "localhost"
    site_model.objects.using(using).filter(pk=settings.SITE_ID, domain="example.com").update(
        domain=domain, name="AI Computing Center"
    )


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Portal")

    def ready(self):
        post_migrate.connect(_name_the_site, sender=self, dispatch_uid="portal.name_the_site")
        from accounts.models import Organisation  # noqa: PLC0415 - models load after the app registry
        from portal import home  # noqa: PLC0415 - it imports models

        # The home page's figures are counted anew by a task after an organisation changes (portal/home.py).
        for signal, verb in ((post_save, "saved"), (post_delete, "deleted")):
            signal.connect(
                home.organisation_changed, sender=Organisation, dispatch_uid=f"portal.home_stats.{verb}"
            )
