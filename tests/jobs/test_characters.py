"""The character catalog is copied from the engine over real HTTP."""

import pytest

from engine.characters import CHARACTERS
from jobs import characters
from jobs.models import Character


@pytest.mark.django_db(transaction=True)
def test_it_copies_the_engines_catalog_and_refreshes_it(live_server, settings):
    settings.ENGINE_BASE_URL = live_server.url + "/engine"
    Character.objects.all().delete()
    Character.objects.create(name="navtalk.Leo", display_name="Old name", is_active=False)

    assert characters.sync() == len(CHARACTERS)
    rows = {c.name: c for c in Character.objects.all()}
    assert set(rows) == set(CHARACTERS)
    leo = rows["navtalk.Leo"]
    assert leo.display_name == CHARACTERS["navtalk.Leo"]["display_name"]
    assert leo.is_active is False  # an admin's choice to hide it stands
    assert leo.preview_url == f"{live_server.url}/engine/characters/navtalk.Leo.jpg"


@pytest.mark.django_db
def test_an_unreachable_engine_changes_nothing(settings):
    Character.objects.create(name="navtalk.Ava", display_name="Ava")
    assert characters.sync("http://127.0.0.1:9/engine") == 0
    assert list(Character.objects.values_list("name", flat=True)) == ["navtalk.Ava"]
