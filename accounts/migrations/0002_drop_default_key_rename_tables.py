"""Team.default_key is now keys.TeamKey (copied in keys 0002); the moved tables take
their new app's names."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0001_initial"),
        ("keys", "0002_teamkey"),
    ]

    operations = [
        migrations.RemoveField(model_name="team", name="default_key"),
        migrations.AlterModelTable(name="team", table=None),
        migrations.AlterModelTable(name="membership", table=None),
        migrations.AlterModelTable(name="profile", table=None),
    ]
