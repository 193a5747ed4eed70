"""Team scoping: alice (Acme) never sees or touches bob's (Globex) jobs."""

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from accounts.middleware import SESSION_KEY
from accounts.models import Membership, Team
from jobs.models import Job
from tests.front.create_support import DEFAULT_SLIDERS, png_bytes

S = Job.Status


pytestmark = pytest.mark.usefixtures("media_root")  # tests/conftest.py


@pytest.fixture
def bobs_jobs(bob, make_job):
    return {
        "done": make_job(bob, title="Bob done", status=S.DONE, video_url="https://cdn.example.com/bob.mp4"),
        "failed": make_job(bob, title="Bob failed", status=S.FAILED, error_category="auth"),
        "running": make_job(bob, title="Bob running", status=S.PROCESSING),
    }


@pytest.mark.django_db
def test_alice_does_not_see_bobs_jobs_in_lists(client, alice, bob, bobs_jobs, make_job):
    make_job(alice, title="Alice done", status=S.DONE, video_url="https://cdn.example.com/alice.mp4")
    client.force_login(alice)
    for url in (reverse("jobs:history"), reverse("jobs:gallery"), reverse("jobs:history") + "?q=Bob"):
        html = client.get(url).content.decode()
        assert "Bob " not in html and "bob.mp4" not in html, url
    assert "Alice done" in client.get(reverse("jobs:gallery")).content.decode()
    # Filtering by bob as creator does not reach into his team either.
    html = client.get(reverse("jobs:history"), {"creator": bob.pk}).content.decode()
    assert "Bob " not in html


@pytest.mark.django_db
@pytest.mark.parametrize("name,method", [
    ("jobs:detail", "get"), ("jobs:status", "get"), ("jobs:duplicate", "get"),
    ("jobs:retry", "post"), ("jobs:cancel", "post"),
])
def test_alice_gets_404_on_bobs_job_urls(client, alice, bobs_jobs, name, method):
    client.force_login(alice)
    for job in bobs_jobs.values():
        response = getattr(client, method)(reverse(name, args=[job.code]))
        assert response.status_code == 404, (name, job.title)
    # Nothing changed: retry and cancel did not touch bob's jobs.
    assert {j.title: j.status for j in Job.objects.all()} == {
        "Bob done": S.DONE, "Bob failed": S.FAILED, "Bob running": S.PROCESSING}


@pytest.mark.django_db
def test_alice_cannot_reuse_bobs_uploaded_file(client, alice, bob, make_job):
    job = make_job(bob, visual_type="image", character_name="")
    job.visual_file.save("p.png", ContentFile(png_bytes()))
    client.force_login(alice)
    response = client.post(reverse("jobs:create"), {
        **DEFAULT_SLIDERS, "visual_source": "image_file", "reuse_from": str(job.code),
        "audio_source": "content", "content": "Hi", "voice": "nova"})
    assert response.status_code == 200
    assert "Choose a photo to upload." in response.content.decode()
    assert Job.objects.filter(team__name="Acme").count() == 0


@pytest.mark.django_db
def test_switching_team_only_to_own_teams(client, alice, bob, make_job):
    globex = Team.objects.get(name="Globex")
    acme = Team.objects.get(name="Acme")
    bobs = make_job(bob, title="Bob's launch")
    client.force_login(alice)
    client.get(reverse("jobs:history"))
    assert client.session[SESSION_KEY] == acme.pk

    response = client.post(reverse("jobs:switch_team"), {"team": globex.pk})
    assert response.status_code == 404
    assert client.session[SESSION_KEY] == acme.pk
    assert client.get(reverse("jobs:detail", args=[bobs.code])).status_code == 404
    assert client.post(reverse("jobs:switch_team"), {"team": "nonsense"}).status_code == 404
    assert client.get(reverse("jobs:switch_team")).status_code == 405

    # Once alice is a member of Globex she can switch, and then sees its jobs (only those).
    Membership.objects.create(team=globex, user=alice)
    mine = make_job(alice, team=acme, title="Alice's own")
    response = client.post(reverse("jobs:switch_team"), {"team": globex.pk, "next": reverse("jobs:gallery")})
    assert response.status_code == 302 and response["Location"] == reverse("jobs:gallery")
    assert client.session[SESSION_KEY] == globex.pk
    assert client.get(reverse("jobs:detail", args=[bobs.code])).status_code == 200
    assert client.get(reverse("jobs:detail", args=[mine.code])).status_code == 404
    html = client.get(reverse("jobs:history")).content.decode()
    assert "Bob&#x27;s launch" in html and "Alice&#x27;s own" not in html
    assert f'<option value="{globex.pk}" selected>Globex</option>' in html


@pytest.mark.django_db
def test_switching_never_redirects_off_site_or_to_the_old_teams_job(client, alice, make_job):
    globex = Team.objects.create(name="Globex 2")
    Membership.objects.create(team=globex, user=alice)
    job = make_job(alice, title="Acme job")
    client.force_login(alice)
    response = client.post(reverse("jobs:switch_team"), {"team": globex.pk, "next": "https://evil.example/"})
    assert response["Location"] == reverse("jobs:create")
    response = client.post(reverse("jobs:switch_team"), {"team": globex.pk,
                                                          "next": reverse("jobs:detail", args=[job.code])})
    assert response["Location"] == reverse("jobs:history")


@pytest.mark.django_db
def test_a_session_pointing_at_a_foreign_team_falls_back_to_own(client, alice, bob, make_job):
    bobs = make_job(bob, title="Bob's")
    client.force_login(alice)
    session = client.session
    session[SESSION_KEY] = Team.objects.get(name="Globex").pk
    session.save()
    assert client.get(reverse("jobs:detail", args=[bobs.code])).status_code == 404
    assert "Bob&#x27;s" not in client.get(reverse("jobs:history")).content.decode()
