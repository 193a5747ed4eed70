"""Fixtures of the front-end tests."""

import pytest

from jobs.models import Character


@pytest.fixture
def leo(db):
    # The catalog may be seeded by a migration: make Leo what these tests expect.
    leo, _ = Character.objects.update_or_create(
        name="navtalk.Leo", defaults={"display_name": "Leo", "description": "Friendly host", "is_active": True})
    return leo
