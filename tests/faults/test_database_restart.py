"""PostgreSQL restarted during polling: workers survive without a crash loop and every
job completes.

The test runs its own cluster (initdb in a temporary directory, a spare port; never the
shared server), so it runs the same way in both CI configurations: the worker and beat
processes and the job-creating `manage.py shell` use that cluster, and this test reads
it with psycopg.
"""

import re
import subprocess
import sys
import time

import psycopg
import pytest

from bench.processes import ROOT, start_beat, start_worker
from tests.faults.conftest import PgCluster, dump, fast_env, pg_available, wait_until

pytestmark = [pytest.mark.e2e]

CREATE = """
from django.contrib.auth.models import User
from jobs import services
from accounts.models import Membership, Team
from keys.models import LicenseKey
from keys.selection import assign_key
user = User.objects.create_user("alice", password="pw-alice-123!")
key = LicenseKey(name="Acme key", generate_url="{url}/generate", query_status_url="{url}/query_status")
key.secret = "sk-alice-restart"
key.save()
team = Team.objects.create(name="Acme")
assign_key(team, key)
Membership.objects.create(team=team, user=user)
for i in range({count}):
    services.job_create(team=team, user=user, license_key=key, title=f"pg {{i}}", visual_type="character",
                        character_name="navtalk.Leo", audio_type="content", content=f"pg#{{i}}", voice="nova")
"""


def counts(url) -> dict:
    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            return dict(conn.execute("SELECT status, count(*) FROM jobs_job GROUP BY status").fetchall())
    except psycopg.OperationalError:
        return {}


@pytest.fixture
def cluster():
    reason = pg_available()
    if reason:
        pytest.skip(reason)
    pg = PgCluster()
    yield pg
    pg.close()


def test_workers_survive_a_postgres_restart_during_polling(cluster, fault_upstream, tmp_path):
    # Long enough that all 30 are accepted (and a round is in flight) before the first is
    # done, even on a loaded machine.
    fault_upstream.latency = 10
    fault_upstream.status_delay = 1.0  # a poll round is in flight when the database goes away
    env = fast_env(DATABASE_URL=cluster.url, CONN_MAX_AGE="60")
    run = lambda *args: subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,  # noqa: E731
                                       capture_output=True, text=True, timeout=180)
    migrate = run("migrate", "--noinput")
    assert migrate.returncode == 0, migrate.stderr
    procs = [start_worker(env, tmp_path, queues="celery"), start_beat(env, tmp_path)]
    worker = procs[0]
    try:
        created = run("shell", "-c", CREATE.format(url=fault_upstream.url, count=30))
        assert created.returncode == 0, created.stderr
        wait_until(lambda: counts(cluster.url).get("started", 0) + counts(cluster.url).get("processing", 0) == 30,
                   60, message="30 jobs accepted upstream")
        wait_until(lambda: fault_upstream.total_in_flight > 0, 20, interval=0.05, message="a poll round in flight")
        cluster.stop("immediate")
        time.sleep(3)
        cluster.start()
        try:
            wait_until(lambda: counts(cluster.url).get("done") == 30, 90, message="30/30 done")
        except AssertionError:
            print(counts(cluster.url), dump(*procs))
            raise
        log = worker.output()
        alive = worker.popen.poll() is None and procs[1].popen.poll() is None
    finally:
        for proc in reversed(procs):
            proc.stop()
    assert alive
    assert "OperationalError" in log  # the database really went away under the worker
    assert "Unrecoverable error" not in log and not re.search(r"ForkPoolWorker-\d+.*exited with", log)
    assert len(re.findall(r"ForkPoolWorker-(\d+)", log)) and max(
        int(n) for n in re.findall(r"ForkPoolWorker-(\d+)", log)) <= 2  # no pool process was replaced
    assert fault_upstream.generates_per_label() == {f"pg#{i}": 1 for i in range(30)}
