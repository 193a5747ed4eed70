"""Two beat/poller instances at once: no job is polled twice concurrently, and the done
side effects (event, archive, notification) happen exactly once per job."""

import re
from collections import Counter

import pytest

from accounts.models import Profile
from bench.processes import running, start_beat, start_worker
from jobs.models import Job, JobEvent
from tests.faults.conftest import create_jobs, dump, fast_env, statuses, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
S = Job.Status


def test_two_pollers_never_poll_a_job_at_once_and_finish_each_job_once(alice, team_key, fault_upstream, tmp_path):
    alice.email = "alice@example.com"
    alice.save()
    Profile.objects.create(user=alice, email_on_done=True)
    fault_upstream.latency = 3
    fault_upstream.status_delay = 0.4  # rounds overlap: each beat sends a round every 0.5 s
    port = fault_upstream.url.rsplit(":", 1)[1]
    env = fast_env(ARCHIVE_RESULTS="True", FETCH_ALLOWED_PRIVATE=f"http://127.0.0.1:{port}",
                   EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend")
    beat_and_worker = [lambda: start_beat(env, tmp_path), lambda: start_worker(env, tmp_path, queues="celery")]
    with running(*beat_and_worker * 2) as procs:
        jobs = create_jobs(alice, "twice", 40)
        try:
            wait_until(lambda: statuses(jobs).get(S.DONE) == 40, 90, message="40/40 done")
            wait_until(lambda: Job.objects.filter(archive_status__in=["done", "failed"]).count() == 40, 30,
                       message="40 archives settled")
            wait_until(lambda: sum(p.output().count("notification email sent") for p in procs) >= 40, 30,
                       message="40 emails")
        except AssertionError:
            print(statuses(jobs), dump(*procs))
            raise
        logs = "".join(p.output() for p in procs if p.name == "worker")
    rounds = Counter(re.findall(r"poll_due_jobs\[[^]]+\] succeeded", logs))
    assert len(rounds) > 10  # both pollers were busy
    assert set(fault_upstream.max_in_flight.values()) == {1}  # never two status calls at once for a task
    done_events = Counter(JobEvent.objects.filter(to_status=S.DONE).values_list("job_id", flat=True))
    assert sorted(done_events) == sorted(j.pk for j in jobs) and set(done_events.values()) == {1}
    fetches = fault_upstream.video_fetches
    assert len(fetches) == 40 and set(fetches.values()) == {1}  # each result archived (fetched) once
    emails = Counter(re.findall(r"job (\d+): notification email sent", logs))
    assert len(emails) == 40 and set(emails.values()) == {1}
    assert fault_upstream.generates_per_label() == {f"twice#{i}": 1 for i in range(40)}
