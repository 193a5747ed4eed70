"""Team, Membership and Profile moved to `accounts`, LicenseKey to `keys` (their 0001
migrations). This one points Job at the new models and drops the old ones from the
`jobs` state. No table changes here; content types follow the models."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

MOVED = {"team": "accounts", "membership": "accounts", "profile": "accounts", "licensekey": "keys"}


def move_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    types = ContentType.objects.using(schema_editor.connection.alias)
    for model, app_label in MOVED.items():
        if not types.filter(app_label=app_label, model=model).exists():
            types.filter(app_label="jobs", model=model).update(app_label=app_label)


def restore_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    types = ContentType.objects.using(schema_editor.connection.alias)
    for model, app_label in MOVED.items():
        if not types.filter(app_label="jobs", model=model).exists():
            types.filter(app_label=app_label, model=model).update(app_label="jobs")


class Migration(migrations.Migration):

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("jobs", "0004_performance_indexes"),
        ("accounts", "0001_initial"),
        ("keys", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="job", name="team",
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="jobs",
                                            to="accounts.team"),
                ),
                migrations.AlterField(
                    model_name="job", name="license_key",
                    field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL,
                                            related_name="jobs", to="keys.licensekey"),
                ),
                migrations.RemoveConstraint(model_name="membership", name="membership_unique"),
                migrations.RemoveField(model_name="team", name="members"),
                migrations.RemoveField(model_name="team", name="default_key"),
                migrations.DeleteModel(name="Membership"),
                migrations.DeleteModel(name="Profile"),
                migrations.DeleteModel(name="Team"),
                migrations.DeleteModel(name="LicenseKey"),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, restore_content_types),
    ]
