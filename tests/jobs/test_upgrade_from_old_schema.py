"""A database migrated at the old layout (every model in `jobs`, migration jobs 0004)
upgrades to the split apps without losing a job, a key, an event or a membership.

Runs on a database of its own (a fresh SQLite file, or a fresh PostgreSQL database when
the suite runs on PostgreSQL), migrated with Django's own executor.
"""

import copy
import uuid

import pytest
from django.db import connections
from django.db.migrations.executor import MigrationExecutor

OLD_LAYOUT = [("jobs", "0004_performance_indexes"), ("engine", "0001_initial")]
ALIAS = "upgrade"


@pytest.fixture
def upgrade_db(tmp_path, django_db_blocker):
    default = connections.settings["default"]
    conf = copy.deepcopy(default)
    conf.pop("TEST", None)
    postgres = default["ENGINE"].endswith("postgresql")
    name = f"upgrade_{uuid.uuid4().hex[:10]}"
    with django_db_blocker.unblock():
        if postgres:
            with connections["default"]._nodb_cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
            conf["NAME"] = name
        else:
            conf["NAME"] = str(tmp_path / "old.sqlite3")
        connections.settings[ALIAS] = conf
        try:
            yield connections[ALIAS]
        finally:
            connections[ALIAS].close()
            del connections[ALIAS]
            del connections.settings[ALIAS]
            if postgres:
                with connections["default"]._nodb_cursor() as cursor:
                    cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _migrate(connection, targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


def test_it_upgrades_the_old_schema_and_keeps_every_row(upgrade_db, django_db_blocker):
    with django_db_blocker.unblock():
        old = _migrate(upgrade_db, OLD_LAYOUT).loader.project_state(OLD_LAYOUT).apps
        User = old.get_model("auth", "User")
        Team, Membership = old.get_model("jobs", "Team"), old.get_model("jobs", "Membership")
        LicenseKey, Job = old.get_model("jobs", "LicenseKey"), old.get_model("jobs", "Job")
        JobEvent, Profile = old.get_model("jobs", "JobEvent"), old.get_model("jobs", "Profile")
        db = ALIAS
        alice = User.objects.using(db).create(username="alice")
        key = LicenseKey.objects.using(db).create(name="Cloud", secret_encrypted="token", secret_hint="sk-…a1b2")
        spare = LicenseKey.objects.using(db).create(name="Spare", secret_encrypted="token2", secret_hint="sk-…c3d4")
        team = Team.objects.using(db).create(name="Studio", default_key=key)
        Team.objects.using(db).create(name="Keyless")
        Membership.objects.using(db).create(team=team, user=alice)
        Profile.objects.using(db).create(user=alice, email_on_done=True)
        job = Job.objects.using(db).create(team=team, created_by=alice, license_key=key, title="Welcome",
                                           visual_type="character", character_name="navtalk.Leo",
                                           audio_type="content", content="Hello", voice="alloy", status="done")
        JobEvent.objects.using(db).create(job=job, to_status="done", message="Video ready")

        new = _migrate(upgrade_db, MigrationExecutor(upgrade_db).loader.graph.leaf_nodes())
        apps = new.loader.project_state().apps
        NewTeam, NewKey = apps.get_model("accounts", "Team"), apps.get_model("keys", "LicenseKey")
        NewJob, TeamKey = apps.get_model("jobs", "Job"), apps.get_model("keys", "TeamKey")
        studio = NewTeam.objects.using(db).get(name="Studio")
        assert list(studio.members.using(db).values_list("username", flat=True)) == ["alice"]
        assert apps.get_model("accounts", "Profile").objects.using(db).get().email_on_done is True
        assert set(NewKey.objects.using(db).values_list("name", "secret_encrypted")) == {
            ("Cloud", "token"), ("Spare", "token2")}
        # The former default key is the team's first (and only) key; a keyless team has none.
        assert list(TeamKey.objects.using(db).values_list("team__name", "key__name", "position")) == [
            ("Studio", "Cloud", 0)]
        moved = NewJob.objects.using(db).get()
        assert (moved.code, moved.team_id, moved.license_key_id, moved.status) == (job.code, team.pk, key.pk, "done")
        assert list(moved.events.using(db).values_list("message", flat=True)) == ["Video ready"]
        assert spare.pk in NewKey.objects.using(db).values_list("pk", flat=True)
        tables = set(upgrade_db.introspection.table_names())
        assert {"accounts_team", "accounts_membership", "accounts_profile", "keys_licensekey",
                "keys_teamkey"} <= tables
        assert not {"jobs_team", "jobs_membership", "jobs_profile", "jobs_licensekey"} & tables
        ContentType = apps.get_model("contenttypes", "ContentType")
        assert not ContentType.objects.using(db).filter(app_label="jobs", model__in=["team", "licensekey"]).exists()
