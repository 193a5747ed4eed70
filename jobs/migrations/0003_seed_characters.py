"""Formerly seeded the character catalog with a copy of the engine's characters. The
catalog now comes from the upstream itself (`jobs.characters.sync`, over HTTP), so this
migration does nothing; it stays so that the migration graph of existing databases holds."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("jobs", "0002_archive_notifications")]
    operations = []
