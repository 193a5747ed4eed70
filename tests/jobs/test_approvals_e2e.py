"""Approval end to end (issue 11.7): a job held for approval is not sent while real worker
and beat processes run; once a team admin approves it, the worker sends it to the local
engine (served by the live server, rendering on the worker's engine queue) and it ends
DONE with a real video. The job's timeline shows every step from awaiting approval."""

import pytest

from accounts.models import Membership
from bench.processes import process_env, purge_broker, running, start_beat, start_worker, wait_until
from jobs import services
from jobs.models import Job, UsageEntry
from keys.selection import key_for_team

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
S = Job.Status


@pytest.fixture
def engine_team(live_server, settings, alice, characters):
    settings.PUBLIC_BASE_URL = live_server.url
    settings.ENGINE_BASE_URL = live_server.url + "/engine"
    settings.FETCH_ALLOWED_PRIVATE = (live_server.url + "/engine/media/",)
    key = key_for_team(alice.teams.first())
    key.generate_url = live_server.url + "/engine/generate"
    key.query_status_url = live_server.url + "/engine/query_status"
    key.secret = settings.ENGINE_LICENSES[0]
    key.save()
    return alice.teams.first()


def create(team, user, title):
    return services.job_create(team=team, user=user, license_key=key_for_team(team), title=title,
                               visual_type="character", character_name="navtalk.Leo", audio_type="content",
                               content="Hello from the approval test.", voice="nova")


def test_a_held_job_waits_through_beat_then_renders_once_approved(engine_team, alice, django_user_model,
                                                                   live_server, tmp_path):
    carol = django_user_model.objects.create_user("carol", password="pw-carol-123!")
    Membership.objects.create(team=engine_team, user=carol, requires_approval=True)
    Membership.objects.filter(user=alice).update(role=Membership.Role.ADMIN)
    purge_broker()
    env = process_env(POLL_INTERVAL_SECONDS="0.5", JOB_EXPECTED_SECONDS="2", RECONCILE_INTERVAL_SECONDS="2",
                      RECONCILE_DISPATCH_GRACE_SECONDS="1", FETCH_ALLOWED_PRIVATE=live_server.url + "/engine/media/")
    with running(lambda: start_worker(env, tmp_path, queues="celery,engine"),
                 lambda: start_beat(env, tmp_path)) as procs:
        held = create(engine_team, carol, "held")
        canary = create(engine_team, alice, "not held")  # an admin's: sent at once
        assert (held.status, canary.status) == (S.AWAITING_APPROVAL, S.QUEUED)
        try:
            # The worker, poller and reconciler make the canary while the held job stays put.
            wait_until(lambda: Job.objects.filter(pk=canary.pk, status=S.DONE).exists(), timeout=180)
            assert Job.objects.get(pk=held.pk).status == S.AWAITING_APPROVAL
            assert not UsageEntry.objects.filter(job=held.pk).exists()  # never sent
            assert services.job_approve(Job.objects.select_related("created_by", "team").get(pk=held.pk), alice)
            wait_until(lambda: Job.objects.filter(pk=held.pk, status__in=Job.TERMINAL_STATUSES).exists(),
                       timeout=180)
        except AssertionError:
            print(procs[0].output()[-4000:], procs[1].output()[-2000:])
            raise
    held.refresh_from_db()
    assert held.status == S.DONE and held.video_url, (held.error_category, held.error_message)
    steps = list(held.events.order_by("id").values_list("to_status", flat=True))
    assert steps[:4] == [S.AWAITING_APPROVAL, S.QUEUED, S.SUBMITTING, S.STARTED] and steps[-1] == S.DONE
    assert UsageEntry.objects.filter(job=held.pk, kind="generate").count() == 1  # sent once
