"""The single, plain-text, never-expiring tokens of Django REST framework's ``authtoken`` app are deleted (its
table is dropped: the app is no longer installed) and their owners are told by mail to create a new token."""

from django.db import migrations


def retire(apps, schema_editor):
    # The mail is the one the portal sends today, so this uses the live function, with the historical model.
    from accounts.tokens import retire_legacy_tokens

    retire_legacy_tokens(schema_editor.connection, user_model=apps.get_model("accounts", "User"))
    # The app's content types and permissions would otherwise linger and be handed to roles.
    apps.get_model("contenttypes", "ContentType").objects.filter(app_label="authtoken").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_api_tokens"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("core", "0002_outbox_message"),  # the mails go out through the outbox
    ]

    operations = [migrations.RunPython(retire, migrations.RunPython.noop, elidable=True)]
