from django.db import migrations

SITE_ROLES = ["operator", "supervisor", "reviewer", "instructor"]


def create_site_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in SITE_ROLES:
        Group.objects.using(schema_editor.connection.alias).get_or_create(name=name)
    # Their permissions are granted by accounts.roles.sync_role_permissions after every migrate,
    # so models added by later migrations are covered as well.


def remove_site_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(name__in=SITE_ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_site_roles, remove_site_roles)]
