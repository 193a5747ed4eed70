"""A hypothesis state machine over the job services, against the test upstream over real
HTTP with scripted replies.

Invariants after every step:
- no non-terminal job is left without a way forward: QUEUED has a due time the
  reconciler dispatches by, SUBMITTING has a start time the reconciler resolves by,
  STARTED/PROCESSING have a task id and a scheduled poll;
- terminal stays terminal, except through an explicit Retry;
- at most one /generate that may have created an upstream task per job and attempt;
- after the reconciler ran (everything overdue), no job is left SUBMITTING and every
  QUEUED job has a submit on its way (a dispatch, published on commit).

Runs inside the test's transaction: on_commit never fires, so nothing is published.
"""

from collections import defaultdict
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from jobs import polling, reconcile, services, submit
from jobs.models import Job
from keys.selection import key_for_team
from navtalk.client import TaskStatus
from tests.support.http import Reply

S = Job.Status
LATER = timedelta(hours=2)

GENERATE = {
    "accept": lambda: Reply(body={"status": "started", "task_id": "tid"}),
    "busy503": lambda: Reply(status=503, body={"message": "busy"}),
    "rate429": lambda: Reply(status=429, body={"message": "slow"}, headers={"Retry-After": "2"}),
    "reject400": lambda: Reply(status=400, body={"message": "bad"}),
    "malformed200": lambda: Reply(raw=b"<html>"),
    "timeout": lambda: Reply(body={"status": "started", "task_id": "late"}, delay=0.6),
}
MAY_CREATE = {"accept", "malformed200", "timeout"}  # the upstream may hold a task afterwards
STATUS = {
    "processing": lambda: Reply(body={"status": "processing"}),
    "started": lambda: Reply(body={"status": "started"}),
    "done": lambda: Reply(body={"status": "done", "video_url": "https://cdn.example/v.mp4"}),
    "failed": lambda: Reply(body={"status": "failed", "message": "Face not found"}),
    "unknown404": lambda: Reply(status=404, body={"message": "Task not found"}),
    "error500": lambda: Reply(status=500, body={"message": "boom"}),
    "rate429": lambda: Reply(status=429, body={"message": "slow"}, headers={"Retry-After": "30"}),
    "malformed": lambda: Reply(raw=b"{"),
}


@pytest.mark.django_db
def test_job_transitions_keep_their_invariants(upstream, alice, settings, monkeypatch):
    settings.NAVTALK_READ_TIMEOUT = 0.3
    settings.SUBMIT_MAX_ATTEMPTS = 3
    team = alice.teams.first()
    dispatched: list[int] = []  # every submit published (on commit) for a job
    real_dispatch = services.dispatch_submit

    def recording_dispatch(job_id, countdown=0):
        dispatched.append(job_id)
        real_dispatch(job_id, countdown)

    monkeypatch.setattr(services, "dispatch_submit", recording_dispatch)

    class JobMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.savepoint = transaction.savepoint_create()
            self.jobs: list[int] = []
            self.reconciles = 0
            self.terminal: dict[int, str] = {}
            self.may_create = defaultdict(int)  # (job, attempt) -> /generate calls that may have created a task

        def teardown(self):
            transaction.savepoint_rollback(self.savepoint)
            upstream.scripts["generate"].clear()
            upstream.scripts["query_status"].clear()

        def job(self, index) -> Job:
            return Job.objects.get(pk=self.jobs[index % len(self.jobs)])

        def _after(self, job_id, *, retried=False):
            status = Job.objects.get(pk=job_id).status
            if job_id in self.terminal and not retried:
                assert status == self.terminal[job_id], "a terminal job changed without a Retry"
            if status in Job.TERMINAL_STATUSES:
                self.terminal[job_id] = status
            else:
                self.terminal.pop(job_id, None)

        @precondition(lambda self: len(self.jobs) < 2)
        @rule()
        def create(self):
            job = services.job_create(team=team, user=alice, license_key=key_for_team(team), title="sm",
                                      visual_type="character", character_name="navtalk.Leo",
                                      audio_type="content", content="Hello", voice="nova")
            self.jobs.append(job.pk)

        @precondition(lambda self: self.jobs)
        @rule(index=st.integers(0, 1), reply=st.sampled_from(["accept"] * 4 + sorted(GENERATE)))
        def submit(self, index, reply):
            job = self.job(index)
            before = len(upstream.calls("generate"))
            upstream.script("generate", GENERATE[reply]())
            submit.job_submit(job.pk)
            upstream.scripts["generate"].clear()
            if len(upstream.calls("generate")) > before and reply in MAY_CREATE:
                self.may_create[(job.pk, job.attempt)] += 1
            self._after(job.pk)

        @precondition(lambda self: self.jobs)
        @rule(index=st.integers(0, 1))
        def worker_dies_while_submitting(self, index):
            """A worker claimed SUBMITTING and was killed before (or during) /generate."""
            job = self.job(index)
            if job.status == S.QUEUED:
                services.transition(job, S.SUBMITTING, "claimed", submitting_at=timezone.now())
            self._after(job.pk)

        @precondition(lambda self: self.jobs)
        @rule(replies=st.lists(st.sampled_from(sorted(STATUS)), min_size=1, max_size=4))
        def poll(self, replies):
            upstream.script("query_status", *[STATUS[r]() for r in replies])
            polling.poll_due_jobs(now=timezone.now() + LATER)  # everything due is polled
            upstream.scripts["query_status"].clear()
            for job_id in self.jobs:
                self._after(job_id)

        @precondition(lambda self: self.jobs)
        @rule()
        def reconcile(self):
            dispatched.clear()
            self.reconciles += 1  # each run is later than every due time so far: all is overdue
            reconcile.reconcile(now=timezone.now() + LATER * (1 + self.reconciles))
            for job in Job.objects.filter(pk__in=self.jobs):
                assert job.status != S.SUBMITTING, "the reconciler left a job stuck in SUBMITTING"
                if job.status == S.QUEUED:
                    assert job.pk in dispatched, "the reconciler left a QUEUED job without a submit on its way"
            for job_id in self.jobs:
                self._after(job_id)

        @precondition(lambda self: self.jobs)
        @rule(index=st.integers(0, 1), status=st.sampled_from(["done", "processing", "failed"]))
        def canceled_while_its_poll_was_in_flight(self, index, status):
            """A poller claimed the job and is waiting for the upstream; meanwhile a person
            cancels (or another poller finished) it; then the stale answer arrives."""
            stale = self.job(index)
            if stale.status not in Job.ACTIVE_STATUSES:
                return
            services.job_cancel(Job.objects.get(pk=stale.pk), alice)
            self._after(stale.pk)
            reply = {"status": status, "video_url": "https://cdn.example/v.mp4", "message": "Face not found"}
            polling.apply_status(stale, TaskStatus(status=status, video_url=reply["video_url"],
                                                    message=reply["message"], raw=reply))
            self._after(stale.pk)

        @precondition(lambda self: self.jobs)
        @rule(index=st.integers(0, 1))
        def retry(self, index):
            job = self.job(index)
            services.job_retry(job, alice)
            self._after(job.pk, retried=True)

        @precondition(lambda self: self.jobs)
        @rule(index=st.integers(0, 1))
        def cancel(self, index):
            job = self.job(index)
            services.job_cancel(job, alice)
            self._after(job.pk)

        @invariant()
        def every_job_has_a_way_forward(self):
            for job in Job.objects.filter(pk__in=self.jobs):
                if job.status == S.QUEUED:
                    assert job.next_poll_at is not None, "QUEUED without a due time: the reconciler never sends it"
                elif job.status == S.SUBMITTING:
                    assert job.submitting_at is not None, "SUBMITTING the reconciler cannot resolve"
                elif job.status in Job.ACTIVE_STATUSES:
                    assert job.upstream_task_id and job.next_poll_at is not None, "active job with no poll scheduled"
                else:
                    assert job.next_poll_at is None and job.finished_at is not None and not job.claim_token

        @invariant()
        def at_most_one_generate_per_attempt(self):
            assert all(n <= 1 for n in self.may_create.values()), dict(self.may_create)

    JobMachine.TestCase.settings = hsettings(max_examples=60, stateful_step_count=15, deadline=None,
                                             suppress_health_check=list(HealthCheck))
    run_state_machine_as_test(JobMachine, settings=JobMachine.TestCase.settings)
