"""LicenseKey moves here from `jobs` (state only: its table, jobs_licensekey, stays as it
is until 0003 renames it). Existing databases keep every row."""

from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("jobs", "0004_performance_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='LicenseKey',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=100)),
                        ('secret_encrypted', models.TextField(editable=False)),
                        ('secret_hint', models.CharField(editable=False, help_text='Masked form, e.g. sk-…a1b2', max_length=16)),
                        ('generate_url', models.URLField(default='https://app.navtalk.ai/generate')),
                        ('query_status_url', models.URLField(default='https://api.navtalk.ai/query_status')),
                        ('is_active', models.BooleanField(default=True)),
                        ('last_used_at', models.DateTimeField(blank=True, null=True)),
                        ('notes', models.TextField(blank=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                    ],
                    options={
                        'ordering': ['name'],
                        'db_table': 'jobs_licensekey',
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
