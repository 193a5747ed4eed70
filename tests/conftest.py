"""Shared fixtures: named personas and a test upstream that speaks NavTalk over real HTTP.

alice belongs to team "Acme", bob to team "Globex"; each team has a default license key
whose URLs point at `upstream`, a real HTTP server on loopback that records every
request it receives and answers what the test scripts.
"""


import pytest

from keys.selection import assign_key, key_for_team
from tests.support.http import Reply
from tests.support.upstream import TestUpstream

ALICE_SECRET = "sk-alice-0123456789abcdefSECRET"
JOB_LIMITS = ("JOB_RATE_PER_USER_PER_MINUTE", "JOB_RATE_PER_TEAM_PER_MINUTE", "JOB_MAX_IN_FLIGHT_PER_USER",
              "JOB_MAX_IN_FLIGHT_PER_TEAM")


@pytest.fixture(autouse=True)
def no_job_limits(settings):
    """Job-creation limits off (0) unless a test sets them: many tests create dozens of
    jobs at once (tests/jobs/test_limits.py turns them on)."""
    for name in JOB_LIMITS:
        setattr(settings, name, 0)
BOB_SECRET = "sk-bob-fedcba9876543210SECRET"


# The scriptable HTTP peers live in tests/support (one server for every test).
__all__ = ["Reply", "TestUpstream"]


@pytest.fixture
def upstream():
    server = TestUpstream()
    yield server
    server.close()


def _make_person(django_user_model, username, team_name, secret, upstream_url):
    from accounts.models import Membership, Team
    from keys.models import LicenseKey

    user = django_user_model.objects.create_user(username=username, password="pw-" + username + "-123!")
    key = LicenseKey(name=f"{team_name} key", generate_url=upstream_url + "/generate",
                     query_status_url=upstream_url + "/query_status")
    key.secret = secret
    key.save()
    team = Team.objects.create(name=team_name)
    assign_key(team, key)
    Membership.objects.create(team=team, user=user)
    return user


@pytest.fixture
def alice(db, django_user_model, request):
    url = request.getfixturevalue("upstream").url if "upstream" in request.fixturenames else "http://127.0.0.1:9"
    return _make_person(django_user_model, "alice", "Acme", ALICE_SECRET, url)


@pytest.fixture
def bob(db, django_user_model, request):
    url = request.getfixturevalue("upstream").url if "upstream" in request.fixturenames else "http://127.0.0.1:9"
    return _make_person(django_user_model, "bob", "Globex", BOB_SECRET, url)


@pytest.fixture
def make_job(db):
    """Create a job directly (as the form would after validation)."""
    from jobs.models import Job

    def make(user, **fields):
        team = fields.pop("team", None) or user.teams.first()
        defaults = dict(title="Hello", visual_type="character", character_name="navtalk.Leo",
                        audio_type="content", content="Welcome to NavTalk.", voice="nova")
        defaults.update(fields)
        return Job.objects.create(team=team, created_by=user, license_key=key_for_team(team), **defaults)

    return make


@pytest.fixture
def characters(db):
    """The built-in character catalog. Migration 0003 seeds it, but the flush after each
    transactional test (live server, real workers) empties it again."""
    from engine.characters import CHARACTERS
    from jobs.models import Character

    for order, (name, info) in enumerate(CHARACTERS.items()):
        Character.objects.get_or_create(name=name, defaults={
            "display_name": info["display_name"], "description": info["description"],
            "preview": info["preview"], "sort_order": order})
    return list(Character.objects.all())


@pytest.fixture
def media_root(settings, tmp_path):
    """MEDIA_ROOT in a fresh folder, for tests whose media stays in this process
    (end-to-end tests keep the Makefile's MEDIA_ROOT, which their workers share)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory):
    """A real S3-compatible server (SeaweedFS, bench/seaweed.py) for this test session, on
    spare loopback ports; stopped at the end. CI's third configuration starts one itself
    and sets S3_ENDPOINT_URL & co.: then that one is used."""
    import os

    from bench.seaweed import SeaweedFS

    if os.environ.get("S3_ENDPOINT_URL") and os.environ.get("S3_ACCESS_KEY_ID"):
        yield SeaweedFS(os.environ["S3_ENDPOINT_URL"], os.environ["S3_ACCESS_KEY_ID"],
                        os.environ["S3_SECRET_ACCESS_KEY"], tmp_path_factory.mktemp("seaweedfs"))
        return
    server = SeaweedFS.start(tmp_path_factory.mktemp("seaweedfs"))
    yield server
    server.stop()


@pytest.fixture
def s3_media(seaweedfs, settings, tmp_path):
    """Media storage and the engine's storage on SeaweedFS, in a fresh bucket (the engine
    under its ENGINE_S3_PREFIX); MEDIA_ROOT and ENGINE_MEDIA_ROOT in fresh folders that
    should stay empty. Returns the server; `s3_media.bucket` is the bucket."""
    import uuid

    from lib.storage import s3_options

    bucket = seaweedfs.create_bucket(f"t-{uuid.uuid4().hex[:20]}")
    for name, value in seaweedfs.env(bucket).items():
        setattr(settings, name, value)
        setattr(settings, "ENGINE_" + name, value)
    settings.ENGINE_S3_PREFIX = "engine"
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": s3_options(
            endpoint_url=seaweedfs.endpoint_url, bucket=bucket, access_key=seaweedfs.access_key,
            secret_key=seaweedfs.secret_key, region="us-east-1", url_max_age=settings.MEDIA_URL_MAX_AGE)}}
    settings.MEDIA_ROOT = tmp_path / "no-media"
    settings.ENGINE_MEDIA_ROOT = tmp_path / "engine-scratch"
    seaweedfs.bucket = bucket
    return seaweedfs


@pytest.fixture
def logged_in(client, alice):
    client.force_login(alice)
    return client
