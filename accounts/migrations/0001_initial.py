"""Team, Membership and Profile move here from `jobs` (state only: their tables stay
as they are until 0002 renames them; existing rows are kept). Team.default_key comes
along for the move and is replaced by keys.TeamKey in keys 0002."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("jobs", "0004_performance_indexes"),
        ("keys", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Membership',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={'db_table': 'jobs_membership'},
                ),
                migrations.CreateModel(
                    name='Profile',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('notifications_seen_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('email_on_done', models.BooleanField(default=False, help_text='Email me when my video is ready.')),
                        ('email_on_failed', models.BooleanField(default=False, help_text='Email me when my video failed.')),
                        ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='portal_profile', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={'db_table': 'jobs_profile'},
                ),
                migrations.CreateModel(
                    name='Team',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=100, unique=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('members', models.ManyToManyField(related_name='teams', through='accounts.Membership', to=settings.AUTH_USER_MODEL)),
                        ('default_key', models.ForeignKey(blank=True, help_text="The license key this team's jobs use.", null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='keys.licensekey')),
                    ],
                    options={
                        'ordering': ['name'],
                        'db_table': 'jobs_team',
                    },
                ),
                migrations.AddField(
                    model_name='membership',
                    name='team',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to='accounts.team'),
                ),
                migrations.AddConstraint(
                    model_name='membership',
                    constraint=models.UniqueConstraint(fields=('team', 'user'), name='membership_unique'),
                ),
            ],
            database_operations=[],
        ),
    ]
