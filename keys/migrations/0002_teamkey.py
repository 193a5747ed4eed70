"""A team's keys become an ordered list (keys.TeamKey); each team's former default key
is its first entry."""

import django.db.models.deletion
from django.db import migrations, models


def copy_default_keys(apps, schema_editor):
    Team = apps.get_model("accounts", "Team")
    TeamKey = apps.get_model("keys", "TeamKey")
    db = schema_editor.connection.alias
    for team_id, key_id in Team.objects.using(db).exclude(default_key=None).values_list("pk", "default_key_id"):
        TeamKey.objects.using(db).get_or_create(team_id=team_id, key_id=key_id, defaults={"position": 0})


def restore_default_keys(apps, schema_editor):
    Team = apps.get_model("accounts", "Team")
    TeamKey = apps.get_model("keys", "TeamKey")
    db = schema_editor.connection.alias
    for entry in TeamKey.objects.using(db).order_by("team_id", "-position", "-id"):
        Team.objects.using(db).filter(pk=entry.team_id).update(default_key_id=entry.key_id)


class Migration(migrations.Migration):

    dependencies = [
        ("keys", "0001_initial"),
        ("accounts", "0001_initial"),
        ("jobs", "0005_move_teams_and_keys_out"),
    ]

    operations = [
        migrations.CreateModel(
            name='TeamKey',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('position', models.PositiveIntegerField(default=0, help_text='Keys are tried in this order, lowest first.')),
                ('key', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='team_keys', to='keys.licensekey')),
                ('team', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='team_keys', to='accounts.team')),
            ],
            options={
                'ordering': ['team', 'position', 'id'],
                'constraints': [models.UniqueConstraint(fields=('team', 'key'), name='teamkey_unique')],
            },
        ),
        migrations.RunPython(copy_default_keys, restore_default_keys),
    ]
