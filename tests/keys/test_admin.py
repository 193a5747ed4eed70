"""Admin: write-only license secrets, key rotation, Test connection, characters, jobs."""

import html as html_lib
import re

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.urls import reverse

from jobs.models import Character, Job, JobEvent
from keys import crypto
from keys.models import LicenseKey
from tests.support.http import Reply

SECRET = "sk-test-SECRET-1234567890abcdef"


@pytest.fixture
def admin_client(client, db):
    client.force_login(User.objects.create_superuser("root", password="root-pw-123!"))
    return client


@pytest.fixture(autouse=True)
def fresh_fernet():
    crypto._fernet.cache_clear()
    yield
    crypto._fernet.cache_clear()


def key_form(**changes):
    data = {"name": "Cloud", "secret": SECRET, "generate_url": "https://app.navtalk.ai/generate",
            "query_status_url": "https://api.navtalk.ai/query_status", "is_active": "on", "notes": ""}
    data.update(changes)
    return data


def secret_input(response) -> str:
    return re.search(r'<input[^>]*name="secret"[^>]*>', response.content.decode()).group(0)


@pytest.mark.django_db
def test_it_stores_a_new_secret_encrypted_and_masked(admin_client):
    response = admin_client.post(reverse("admin:keys_licensekey_add"), key_form())
    assert response.status_code == 302
    key = LicenseKey.objects.get()
    assert key.secret == SECRET
    assert SECRET not in key.secret_encrypted and key.secret_encrypted.startswith("gAAAA")
    assert key.secret_hint == "sk-…cdef" and key.masked == "sk-…cdef"


@pytest.mark.django_db
def test_it_requires_the_secret_on_create(admin_client):
    response = admin_client.post(reverse("admin:keys_licensekey_add"), key_form(secret=""))
    assert response.status_code == 200
    assert "Enter the license key." in response.content.decode()
    assert LicenseKey.objects.count() == 0
    assert 'type="password"' in secret_input(response) and "value=" not in secret_input(response)


@pytest.mark.django_db
def test_editing_with_a_blank_secret_keeps_it(admin_client):
    admin_client.post(reverse("admin:keys_licensekey_add"), key_form())
    key = LicenseKey.objects.get()
    token = key.secret_encrypted
    page = admin_client.get(reverse("admin:keys_licensekey_change", args=[key.pk]))
    assert "value=" not in secret_input(page)  # write-only: never rendered back
    assert "sk-…cdef" in page.content.decode()

    response = admin_client.post(reverse("admin:keys_licensekey_change", args=[key.pk]),
                                 key_form(name="Cloud (renamed)", secret=""))
    assert response.status_code == 302
    key.refresh_from_db()
    assert (key.name, key.secret_encrypted, key.secret) == ("Cloud (renamed)", token, SECRET)

    admin_client.post(reverse("admin:keys_licensekey_change", args=[key.pk]),
                      key_form(secret="sk-new-0000111122223333"))
    key.refresh_from_db()
    assert key.secret == "sk-new-0000111122223333" and key.secret_hint == "sk-…3333"


@pytest.mark.django_db
def test_rotate_license_keys_reencrypts_with_the_first_key(settings):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.LICENSE_ENCRYPTION_KEYS = [old_key]
    crypto._fernet.cache_clear()
    key = LicenseKey(name="Cloud")
    key.secret = SECRET
    key.save()
    before = key.secret_encrypted

    settings.LICENSE_ENCRYPTION_KEYS = [new_key, old_key]
    crypto._fernet.cache_clear()
    call_command("rotate_license_keys")
    key.refresh_from_db()
    assert key.secret_encrypted != before
    assert key.secret == SECRET

    settings.LICENSE_ENCRYPTION_KEYS = [new_key]  # the old key can now be dropped
    crypto._fernet.cache_clear()
    assert LicenseKey.objects.get().secret == SECRET
    settings.LICENSE_ENCRYPTION_KEYS = [old_key]
    crypto._fernet.cache_clear()
    with pytest.raises(InvalidToken):
        LicenseKey.objects.get().secret  # noqa: B018 - really encrypted with the new key only


@pytest.mark.django_db
def test_rotate_refuses_when_a_secret_cannot_be_decrypted(settings):
    settings.LICENSE_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    crypto._fernet.cache_clear()
    good = LicenseKey(name="Good")
    good.secret = SECRET
    good.save()
    LicenseKey.objects.create(name="Lost", secret_encrypted=Fernet(Fernet.generate_key()).encrypt(b"x").decode(),
                              secret_hint="…")
    before = LicenseKey.objects.get(name="Good").secret_encrypted
    with pytest.raises(CommandError, match="'Lost'"):
        call_command("rotate_license_keys")
    assert LicenseKey.objects.get(name="Good").secret_encrypted == before  # all or nothing


def _key(name, base):
    key = LicenseKey(name=name, generate_url=base + "/generate", query_status_url=base + "/query_status")
    key.secret = SECRET
    key.save()
    return key


def _test_connection(admin_client, *keys) -> str:
    response = admin_client.post(reverse("admin:keys_licensekey_changelist"),
                                 {"action": "test_connection", "_selected_action": [k.pk for k in keys]}, follow=True)
    return html_lib.unescape(response.content.decode())


@pytest.mark.django_db
def test_test_connection_says_only_what_it_proved(admin_client, upstream):
    ok, down = _key("A ok", upstream.url), _key("C down", "http://127.0.0.1:9")
    upstream.script("query_status", Reply(404, {"message": "no such task"}))
    upstream.script("generate", Reply(400, {"message": "Give one visual source", "errors": {"visual": "missing"}}))
    html = _test_connection(admin_client, ok, down)
    assert ("A ok: the status service answered (HTTP 404 for a made-up task); the video service did not refuse "
            "the license (HTTP 400 for a deliberately empty request). That is as far as a test can go without "
            "making a video: the first job proves the license.") in html
    assert "auth ok" not in html
    assert "C down: the status service is not reachable" in html and "could not be checked" in html
    probe = upstream.calls("generate")[0]
    assert probe["json"] == {"license": SECRET}  # no visual, no audio: nothing can be made or billed
    assert upstream.calls("query_status")[0]["query"]["task_id"].startswith("portal-connection-test-")


@pytest.mark.django_db
def test_test_connection_finds_a_refused_license_that_a_made_up_task_hides(admin_client, upstream):
    """The newcomer's case: a strict upstream answers 404 for any unknown task, so the old
    probe said "auth ok" for a license it rejects on /generate."""
    key = _key("Cloud", upstream.url)
    upstream.script("query_status", Reply(404, {"message": "Task not found"}))
    upstream.script("generate", Reply(400, {"message": "license not recognised",
                                            "errors": {"license": "license not recognised"}}))
    html = _test_connection(admin_client, key)
    assert "Cloud: license REFUSED: the video service rejected it (HTTP 400: license not recognised)." in html


@pytest.mark.django_db
def test_test_connection_reports_a_refusal_by_the_status_service(admin_client, upstream):
    key = _key("B refused", upstream.url)
    upstream.script("query_status", Reply(401, {"message": "bad license"}))
    html = _test_connection(admin_client, key)
    assert "B refused: license REFUSED: the status service rejected it (HTTP 401: bad license)." in html


@pytest.mark.django_db
def test_character_list_is_editable_in_place(admin_client):
    Character.objects.all().delete()  # the catalog may be seeded by a migration
    leo = Character.objects.create(name="test.Zed", display_name="Zed", preview="characters/leo.jpg")
    html = admin_client.get(reverse("admin:jobs_character_changelist")).content.decode()
    assert '<img src="/static/characters/leo.jpg"' in html
    assert 'name="form-0-sort_order"' in html and 'name="form-0-is_active"' in html
    response = admin_client.post(reverse("admin:jobs_character_changelist"), {
        "form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "1", "form-0-id": str(leo.pk),
        "form-0-sort_order": "7", "_save": "Save"})
    assert response.status_code == 302
    leo.refresh_from_db()
    assert (leo.sort_order, leo.is_active) == (7, False)


@pytest.mark.django_db
def test_jobs_are_read_mostly(admin_client, alice, make_job):
    job = make_job(alice, title="Original", status=Job.Status.FAILED, error_category="timeout")
    JobEvent.objects.create(job=job, to_status="failed", message="gave up")
    assert admin_client.get(reverse("admin:jobs_job_add")).status_code == 403
    changelist = admin_client.get(reverse("admin:jobs_job_changelist"), {"status__exact": "failed", "q": "Orig"})
    assert "Original" in changelist.content.decode()
    page = admin_client.get(reverse("admin:jobs_job_change", args=[job.pk])).content.decode()
    assert "gave up" in page and 'name="status"' not in page and 'name="events-0-message"' not in page
    admin_client.post(reverse("admin:jobs_job_change", args=[job.pk]),
                      {"title": "Renamed", "status": "done", "events-TOTAL_FORMS": "1", "events-INITIAL_FORMS": "1",
                       "events-0-id": str(job.events.get().pk), "events-0-job": str(job.pk)})
    job.refresh_from_db()
    assert (job.title, job.status) == ("Renamed", Job.Status.FAILED)  # status is never edited here


@pytest.mark.django_db
def test_team_admin_shows_members_and_masked_key(admin_client, alice):
    team = alice.teams.get()
    html = admin_client.get(reverse("admin:accounts_team_change", args=[team.pk])).content.decode()
    assert "membership_set-0-user" in html
    assert "Acme key (sk-…CRET)" in html


@pytest.mark.django_db
def test_the_key_page_shows_plain_links_and_when_a_key_was_last_used(admin_client, upstream):
    key = _key("Cloud", upstream.url)
    page = admin_client.get(reverse("admin:keys_licensekey_change", args=[key.pk])).content.decode()
    assert "Currently:" not in page  # Django's URL widget said so above URLs never set
    listing = admin_client.get(reverse("admin:keys_licensekey_changelist")).content.decode()
    assert ">Last used<" in listing and ">never<" in listing


@pytest.mark.django_db
def test_the_engines_own_licenses_are_not_mistaken_for_license_keys(admin_client):
    index = admin_client.get(reverse("admin:index")).content.decode()
    assert "Engine licenses" not in index and "Local engine (tests and diagnostics)" in index
