from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _sync_roles(sender, using="default", **kwargs):
    from accounts.roles import sync_role_permissions

    sync_role_permissions(using=using)


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("People and organisations")

    def ready(self):
        # Permissions of new models exist only after migrate: keep the roles' permissions complete.
        post_migrate.connect(_sync_roles, dispatch_uid="accounts.sync_role_permissions")
