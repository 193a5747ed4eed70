"""Roles per membership (the earliest member of each team becomes its owner) and
invitation links."""


import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def first_member_owns(apps, schema_editor):
    """Existing teams: the earliest member becomes the owner; everyone else stays a
    creator (they keep making videos; acting on others' jobs now needs an admin)."""
    Membership = apps.get_model("accounts", "Membership")
    seen = set()
    for membership in Membership.objects.order_by("team_id", "created_at", "id").only("pk", "team_id"):
        if membership.team_id not in seen:
            seen.add(membership.team_id)
            Membership.objects.filter(pk=membership.pk).update(role="owner")


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_drop_default_key_rename_tables'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='membership',
            name='role',
            field=models.CharField(choices=[('owner', 'Owner'), ('admin', 'Admin'), ('creator', 'Creator'), ('viewer', 'Viewer')], default='creator', help_text="Owner/admin: manage members, keys and quotas. Creator: make videos, act on their own. Viewer: see and download the team's videos.", max_length=10),
        ),
        migrations.CreateModel(
            name='Invitation',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('role', models.CharField(choices=[('owner', 'Owner'), ('admin', 'Admin'), ('creator', 'Creator'), ('viewer', 'Viewer')], default='creator', max_length=10)),
                ('token_hash', models.CharField(editable=False, max_length=64, unique=True)),
                ('email', models.EmailField(blank=True, help_text='Where the link was sent, if it was emailed.', max_length=254)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('expires_at', models.DateTimeField()),
                ('used_at', models.DateTimeField(blank=True, null=True)),
                ('revoked_at', models.DateTimeField(blank=True, null=True)),
                ('created_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('team', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='invitations', to='accounts.team')),
                ('used_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-created_at'],
            },
        ),
        migrations.RunPython(first_member_owns, migrations.RunPython.noop),
    ]
