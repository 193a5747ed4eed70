"""The naive design `bench/polling.py --baseline sleep` compares against: one Celery task
per job that sends /generate and then sleeps in a loop polling its status, holding a
worker slot for the job's whole life. Loaded only by the baseline's worker (`-I bench.naive`).

It goes through the same services (job_submit, apply_status) as the real design, so the
only difference measured is the scheduling: a slot per job vs. a batch poller.
"""

import time

from celery import shared_task

SLEEP_SECONDS = 1.0


@shared_task(name="bench.naive.submit_and_wait", ignore_result=True)
def submit_and_wait(job_id: int) -> None:
    from jobs import polling, submit
    from jobs.models import Job
    from navtalk.client import NavTalkError

    submit.job_submit(job_id)
    while True:
        job = Job.objects.select_related("license_key").get(pk=job_id)
        if job.status not in Job.ACTIVE_STATUSES:
            return
        time.sleep(SLEEP_SECONDS)
        try:
            result = submit.client_for(job.license_key).query_status(job.license_key.secret, job.upstream_task_id)
        except NavTalkError as exc:
            result = exc
        polling.apply_status(job, result)
