"""The audit trail moves from ``portal`` to the kernel without touching a row.

The table keeps its name (``portal_auditevent``), so the database is left as it is: only Django's idea of
which app owns the model changes (this migration and portal's 0003). The content type is renamed, so the
permissions that point at it (operators' ``view_auditevent``) stay with their groups, and events keep their
ids, sequence and hashes: the hash chain does not cover the audit model's own content type.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def rename_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    types = ContentType.objects.using(schema_editor.connection.alias)
    if not types.filter(app_label="core", model="auditevent").exists():
        types.filter(app_label="portal", model="auditevent").update(app_label="core")


def unrename_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    types = ContentType.objects.using(schema_editor.connection.alias)
    if not types.filter(app_label="portal", model="auditevent").exists():
        types.filter(app_label="core", model="auditevent").update(app_label="portal")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0004_organisation_size'),
        ('portal', '0002_audit_hash_chain'),
        ('contenttypes', '0002_remove_content_type_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='AuditEvent',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('created_at', models.DateTimeField(auto_now_add=True, db_index=True, verbose_name='when')),
                        ('actor_label', models.CharField(blank=True, max_length=254, verbose_name='who (as recorded)')),
                        ('platform', models.CharField(db_index=True, max_length=32, verbose_name='platform')),
                        ('action', models.CharField(db_index=True, max_length=64, verbose_name='action')),
                        ('target_id', models.CharField(max_length=64)),
                        ('target_label', models.CharField(max_length=255, verbose_name='object')),
                        ('changes', models.JSONField(blank=True, default=dict, verbose_name='changes')),
                        ('reason', models.TextField(blank=True, verbose_name='reason')),
                        ('seq', models.PositiveBigIntegerField(blank=True, null=True, unique=True, verbose_name='chain position')),
                        ('prev_hash', models.CharField(blank=True, max_length=64, verbose_name="previous entry's hash")),
                        ('entry_hash', models.CharField(blank=True, max_length=64, verbose_name='entry hash')),
                        ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='who')),
                        ('organisation', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='accounts.organisation', verbose_name='organisation')),
                        ('target_type', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='contenttypes.contenttype')),
                    ],
                    options={
                        'verbose_name': 'audit event',
                        'verbose_name_plural': 'audit events',
                        'db_table': 'portal_auditevent',
                        'ordering': ['-id'],
                        'indexes': [models.Index(fields=['target_type', 'target_id'], name='audit_target_idx'), models.Index(fields=['organisation', '-id'], name='audit_org_idx'), models.Index(fields=['actor', '-id'], name='audit_actor_idx'), models.Index(condition=models.Q(('seq__isnull', True)), fields=['id'], name='audit_unsealed_idx')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(rename_content_type, unrename_content_type, elidable=False),
    ]
