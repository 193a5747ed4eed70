"""Quota units on jobs (jobs.quotas)."""

from django.conf import settings
from django.db import migrations, models
from django.db.models import F


def existing_jobs_hold_units(apps, schema_editor):
    """Jobs made before quotas existed count from when they were created."""
    apps.get_model("jobs", "Job").objects.filter(quota_at__isnull=True).update(quota_at=F("created_at"))


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0004_team_quotas'),
        ('jobs', '0007_usage_ledger'),
        ('keys', '0004_key_budget'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='job',
            name='quota_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='job',
            name='quota_released',
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name='job',
            name='quota_seconds',
            field=models.FloatField(blank=True, help_text='Estimated video seconds until known.', null=True),
        ),
        migrations.AddIndex(
            model_name='job',
            index=models.Index(condition=models.Q(('quota_released', False)), fields=['team', 'quota_at'], name='job_quota_team'),
        ),
        migrations.AddIndex(
            model_name='job',
            index=models.Index(condition=models.Q(('quota_released', False)), fields=['created_by', 'quota_at'], name='job_quota_user'),
        ),
        migrations.AddIndex(
            model_name='job',
            index=models.Index(condition=models.Q(('quota_released', False)), fields=['license_key', 'quota_at'], name='job_quota_key'),
        ),
        migrations.RunPython(existing_jobs_hold_units, migrations.RunPython.noop),
    ]
