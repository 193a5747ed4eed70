"""Personal access tokens: made on the portal page and shown once, stored hashed, listed
with last use, revocable; scopes, expiry, membership, per-token rate limits, attribution;
and the license key never in an API answer."""

import datetime as dt
import logging
import re

import pytest
import requests
from django.utils import timezone

from accounts.models import Membership
from api.models import ApiToken, digest
from jobs.models import JobEvent
from tests.conftest import ALICE_SECRET

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_token_made_on_the_page_is_shown_once_stored_hashed_and_works(live_server, client, alice):
    client.force_login(alice)
    made = client.post("/api/tokens/", {"name": "CRM export", "scope": "write", "expires": "30"})
    token = re.search(r'value="(ntp_[^"]+)"', made.content.decode()).group(1)
    row = ApiToken.objects.get()
    assert (row.name, row.user, row.team.name, row.scope) == ("CRM export", alice, "Acme", "write")
    assert row.token_hash == digest(token) and token not in str(vars(row))
    assert dt.timedelta(days=29) < row.expires_at - timezone.now() <= dt.timedelta(days=30)
    page = client.get("/api/tokens/").content.decode()
    assert token not in page and row.display in page and "Never" in page
    answer = requests.get(f"{live_server.url}/api/v1/usage/", headers={"Authorization": f"Bearer {token}"},
                          timeout=10)
    assert answer.status_code == 200 and answer.json()["user"] == "alice"
    row.refresh_from_db()
    assert row.last_used_at is not None
    assert "Never" not in client.get("/api/tokens/").content.decode().split(row.display)[1].split("</tr>")[0]


def test_the_page_says_beside_the_field_what_is_missing(client, alice):
    client.force_login(alice)
    page = client.post("/api/tokens/", {"name": "", "scope": "write", "expires": "30"}).content.decode()
    assert 'id="error-name">Give the token a name, so you recognise it later.' in page
    assert not ApiToken.objects.exists()


def test_a_revoked_expired_or_unknown_token_is_refused(api_for, alice, token_for, client, live_server, bob):
    row, token = token_for(alice)

    def call(t):
        return requests.get(f"{live_server.url}/api/v1/jobs/", headers={"Authorization": f"Bearer {t}"}, timeout=10)

    assert call(token).status_code == 200
    client.force_login(bob)
    assert client.post(f"/api/tokens/{row.pk}/revoke/").status_code == 404  # not bob's to revoke
    assert call(token).status_code == 200
    client.force_login(alice)
    assert client.post(f"/api/tokens/{row.pk}/revoke/").status_code == 302
    refused = call(token)
    assert refused.status_code == 401 and "revoked" in refused.json()["errors"]["non_field_errors"][0]
    old, old_token = token_for(alice, expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert call(old_token).status_code == 401
    assert call(token[:-2] + "xx").status_code == 401 and call("nonsense").status_code == 401
    assert requests.get(f"{live_server.url}/api/v1/jobs/", timeout=10).status_code == 401


def test_a_token_stops_working_when_its_owner_leaves_the_team(token_for, alice, live_server):
    row, token = token_for(alice)
    Membership.objects.filter(user=alice).delete()
    answer = requests.get(f"{live_server.url}/api/v1/jobs/", headers={"Authorization": f"Bearer {token}"},
                          timeout=10)
    assert answer.status_code == 401


def test_a_read_token_reads_but_does_not_write(api_for, alice, make_job):
    api = api_for(alice, scope="read")
    job = make_job(alice)
    assert api.get(f"jobs/{job.code}/").status_code == 200
    refused = api.post(f"jobs/{job.code}/cancel/")
    assert refused.status_code == 403 and "read-only" in refused.json()["errors"]["non_field_errors"][0]
    assert api.post("jobs/", json={}).status_code == 403


def test_each_token_has_its_own_rate_limit(api_for, alice, settings):
    settings.API_RATE_PER_TOKEN = "3/minute"
    first, second = api_for(alice), api_for(alice)
    statuses = [first.get("usage/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = first.get("usage/")
    assert int(limited.headers["Retry-After"]) > 0 and "Too many calls" in limited.text
    assert second.get("usage/").status_code == 200


def test_every_call_is_logged_with_the_person_and_the_token(api_for, alice, caplog):
    api = api_for(alice, name="n8n")
    with caplog.at_level(logging.INFO, logger="api.auth"):
        api.get("jobs/")
    assert any("GET /api/v1/jobs/ by alice (token ntp_" in r.getMessage() for r in caplog.records)


def test_the_license_key_never_appears_in_an_api_answer(api_for, alice, make_job, characters):
    echoed = f"Invalid license {ALICE_SECRET} ({ALICE_SECRET.lower()})"
    job = make_job(alice, status="failed", error_category="auth", error_message=echoed,
                   upstream_reply={"message": echoed, "nested": [ALICE_SECRET]})
    JobEvent.objects.create(job=job, to_status="failed", message=echoed)
    api = api_for(alice)
    answers = [api.get(p) for p in ("jobs/", f"jobs/{job.code}/", "usage/", "characters/", "voices/",
                                    "jobs/?q=license")]
    answers += [api.post(f"jobs/{job.code}/duplicate/", json={}), api.post(f"jobs/{job.code}/retry/")]
    assert all(a.status_code in (200, 201) for a in answers), [a.text for a in answers]
    assert any("Invalid license" in a.text for a in answers)  # the message is there, masked
    for answer in answers:
        text = answer.text + str(answer.headers)
        assert ALICE_SECRET not in text and ALICE_SECRET.lower() not in text
