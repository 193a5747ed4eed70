"""jobs_licensekey takes the keys app's name."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("keys", "0002_teamkey"),
        ("accounts", "0002_drop_default_key_rename_tables"),
    ]

    operations = [
        migrations.AlterModelTable(name="licensekey", table=None),
    ]
