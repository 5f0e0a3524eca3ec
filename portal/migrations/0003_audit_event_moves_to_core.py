"""The audit model now lives in ``core`` (see core/migrations/0001); its table stays where it is."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('portal', '0002_audit_hash_chain'),
        ('core', '0001_move_audit_event'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="AuditEvent")],
            database_operations=[],
        ),
    ]
