"""A job's own webhook (`webhook_url` in the API's create call): its end is POSTed to a
real receiver on loopback through the team webhooks' machinery (SSRF-safe fetcher,
retries with the same id, delivery log), signed with a secret made for that job and shown
once in the create answer; the Standard Webhooks reference library verifies it."""

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from automation import webhooks
from automation.models import JobWebhook, WebhookDelivery
from jobs import services
from jobs.models import Job
from tests.automation.test_webhooks import Receiver

pytestmark = pytest.mark.django_db(transaction=True)
BODY = {"visual_source": "character", "character": "navtalk.Leo", "audio_source": "content", "content": "Hi",
        "voice": "nova"}


@pytest.fixture
def receiver(settings):
    server = Receiver()
    settings.WEBHOOK_ALLOWED_PRIVATE = server.allowed
    settings.WEBHOOK_RETRY_SCHEDULE = "0,0,0"
    yield server
    server.close()


def verified(secret, request) -> dict:
    return Webhook(secret).verify(request.body, {k.lower(): v for k, v in request.headers.items()})


def test_a_jobs_own_webhook_gets_its_end_signed_with_its_own_secret(api_for, alice, characters, receiver):
    api = api_for(alice)
    made = api.post("jobs/", json={**BODY, "webhook_url": receiver.url + "/job-hook"},
                    headers={"Idempotency-Key": "hooked-1"})
    assert made.status_code == 201, made.text
    hook = made.json()["webhook"]
    assert hook["url"] == receiver.url + "/job-hook" and hook["secret"].startswith("whsec_")
    replay = api.post("jobs/", json={**BODY, "webhook_url": receiver.url + "/job-hook"},
                      headers={"Idempotency-Key": "hooked-1"})
    assert replay.json()["webhook"] == hook  # a retried create still learns the secret
    assert "webhook" not in api.get(f"jobs/{made.json()['id']}/").json()  # shown only in the create answer
    other = api.post("jobs/", json={**BODY, "webhook_url": receiver.url + "/other"}).json()
    receiver.statuses = [500]  # the first send fails: retried with the same id
    job = Job.objects.get(code=made.json()["id"])
    assert api.post(f"jobs/{job.code}/cancel/").status_code == 200
    while webhooks.deliver_due():
        pass
    assert [r.path for r in receiver.got] == ["/job-hook", "/job-hook"]
    assert len({r.headers["webhook-id"] for r in receiver.got}) == 1
    event = verified(hook["secret"], receiver.got[-1])
    assert event["type"] == "job.canceled" and event["data"]["id"] == str(job.code)
    with pytest.raises(WebhookVerificationError):  # another job's secret does not verify it
        verified(other["webhook"]["secret"], receiver.got[-1])
    log = api.get(f"jobs/{job.code}/webhook/").json()
    assert log["url"] == hook["url"] and [(d["event"], d["status"], d["attempts"], d["last_status"])
                                          for d in log["deliveries"]] == [("job.canceled", "succeeded", 2, 204)]
    assert hook["secret"] not in str(log) and "secret" not in str(WebhookDelivery.objects.get().payload)
    done = Job.objects.get(code=other["id"])
    assert services.transition(done, Job.Status.DONE, "Done")
    webhooks.deliver_due()
    assert receiver.got[-1].path == "/other" and verified(other["webhook"]["secret"], receiver.got[-1])["type"] == \
        "job.done"


def test_a_private_or_bad_webhook_url_is_refused_by_field(api_for, alice, characters, settings):
    settings.WEBHOOK_ALLOWED_PRIVATE = ()
    api = api_for(alice)
    private = api.post("jobs/", json={**BODY, "webhook_url": "http://127.0.0.1:9/hook"})
    assert private.status_code == 400
    assert private.json()["errors"]["webhook_url"][0].startswith("This link points to a private or local address")
    assert api.post("jobs/", json={**BODY, "webhook_url": "ftp://x"}).json()["errors"]["webhook_url"]
    assert not Job.objects.exists() and not JobWebhook.objects.exists()
    plain = api.post("jobs/", json=BODY).json()
    assert "webhook" not in plain and api.get(f"jobs/{plain['id']}/webhook/").status_code == 404
