"""Seed the character catalog with the built-in characters the local engine ships
(engine/characters; navtalk.Leo is also NavTalk's documented character). Admins edit
the catalog afterwards; this runs once."""

from django.db import migrations

SEED = [
    ("navtalk.Leo", "Leo", "Smiling presenter in a flight suit, head and shoulders, studio light.", "characters/leo.jpg"),
    ("navtalk.Ava", "Ava", "Formal portrait, calm expression, dark studio backdrop.", "characters/ava.jpg"),
    ("navtalk.Sam", "Sam", "Close-up, warm sepia-toned friendly face for short personal messages.", "characters/sam.jpg"),
]


def seed(apps, schema_editor):
    Character = apps.get_model("jobs", "Character")
    for order, (name, display, description, preview) in enumerate(SEED):
        Character.objects.get_or_create(name=name, defaults={
            "display_name": display, "description": description, "preview": preview, "sort_order": order})


class Migration(migrations.Migration):
    dependencies = [("jobs", "0002_archive_notifications")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
