"""The usage ledger (append-only; on PostgreSQL a trigger refuses UPDATE and DELETE)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

TRIGGER = """
CREATE OR REPLACE FUNCTION jobs_usageentry_append_only() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'jobs_usageentry is append-only'; END $$ LANGUAGE plpgsql;
CREATE TRIGGER jobs_usageentry_append_only BEFORE UPDATE OR DELETE ON jobs_usageentry
FOR EACH ROW EXECUTE FUNCTION jobs_usageentry_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS jobs_usageentry_append_only ON jobs_usageentry;
DROP FUNCTION IF EXISTS jobs_usageentry_append_only();
"""


def forbid_changes(apps, schema_editor):
    """On PostgreSQL the database itself refuses UPDATE and DELETE of ledger rows."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER)


def allow_changes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0003_roles_and_invitations'),
        ('jobs', '0006_last_pending'),
        ('keys', '0003_rename_table'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='UsageEntry',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('generate', '/generate sent'), ('result', 'Result duration')], max_length=10)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('attempt', models.PositiveIntegerField(default=1)),
                ('method', models.PositiveSmallIntegerField(help_text="NavTalk's method number, 1-9.")),
                ('audio_bytes', models.PositiveBigIntegerField(blank=True, help_text='Uploaded audio sent (bytes).', null=True)),
                ('text_chars', models.PositiveIntegerField(blank=True, help_text='Text for text-to-speech (chars).', null=True)),
                ('video_seconds', models.FloatField(blank=True, help_text="RESULT rows: the video's duration.", null=True)),
                ('job', models.ForeignKey(db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='jobs.job')),
                ('key', models.ForeignKey(db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='keys.licensekey')),
                ('team', models.ForeignKey(db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='accounts.team')),
                ('user', models.ForeignKey(db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-created_at', '-id'],
                'indexes': [models.Index(fields=['team', 'created_at'], name='usage_team_time'), models.Index(fields=['user', 'created_at'], name='usage_user_time'), models.Index(fields=['key', 'created_at'], name='usage_key_time')],
                'constraints': [models.UniqueConstraint(condition=models.Q(('kind', 'result')), fields=('job', 'attempt'), name='usage_one_result')],
            },
        ),
        migrations.RunPython(forbid_changes, allow_changes),
    ]
