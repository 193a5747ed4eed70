"""The job admin saves only what was edited: a title edited while the poller finishes
the job never writes the old status back (no DONE undone, no second finish)."""

import pytest
from django.contrib.auth.models import User
from django.db.models.signals import pre_save
from django.urls import reverse
from django.utils import timezone

from jobs.models import Job

S = Job.Status


@pytest.mark.django_db
def test_editing_a_title_while_the_poller_finishes_keeps_done(alice, make_job, client):
    client.force_login(User.objects.create_superuser("root", password="root-pw-123!"))
    job = make_job(alice, status=S.STARTED, upstream_task_id="t-1", submitted_at=timezone.now())
    url = reverse("admin:jobs_job_change", args=[job.pk])
    assert client.get(url).status_code == 200

    def poller_finishes_meanwhile(sender, instance, **kwargs):
        # Between the admin loading the row and saving it, the poller's CAS lands.
        pre_save.disconnect(poller_finishes_meanwhile, sender=Job)
        Job.objects.filter(pk=instance.pk, status=S.STARTED).update(
            status=S.DONE, video_url="https://cdn.example/v.mp4", finished_at=timezone.now())

    pre_save.connect(poller_finishes_meanwhile, sender=Job)
    try:
        response = client.post(url, {"title": "Renamed", "events-TOTAL_FORMS": "0", "events-INITIAL_FORMS": "0"})
    finally:
        pre_save.disconnect(poller_finishes_meanwhile, sender=Job)
    assert response.status_code == 302, response.content.decode()[:2000]
    job.refresh_from_db()
    assert (job.title, job.status, job.video_url) == ("Renamed", S.DONE, "https://cdn.example/v.mp4")
