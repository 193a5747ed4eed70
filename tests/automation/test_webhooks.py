"""Signed webhooks against a real receiver on loopback: the signature verifies with the
Standard Webhooks reference library, failed sends are retried (same id), an endpoint that
keeps failing is disabled and its admins are emailed, and only allowed private receivers
are reached (through the one SSRF-safe fetcher)."""

import json

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from accounts.models import Membership
from automation import webhooks
from automation.models import WebhookDelivery, WebhookEndpoint
from jobs import services
from tests.support.http import LoopbackServer, Reply

pytestmark = pytest.mark.django_db(transaction=True)


class Receiver(LoopbackServer):
    def __init__(self):
        self.got, self.statuses = [], []
        super().__init__(self._respond)

    def _respond(self, request):
        self.got.append(request)
        return Reply(self.statuses.pop(0) if self.statuses else 204, raw=b"ok")


@pytest.fixture
def receiver(settings):
    server = Receiver()
    settings.WEBHOOK_ALLOWED_PRIVATE = server.allowed
    settings.WEBHOOK_RETRY_SCHEDULE = "0,0,0,0"
    yield server
    server.close()


def endpoint_for(user, url) -> tuple[WebhookEndpoint, str]:
    endpoint = WebhookEndpoint(team=user.teams.first(), url=url + "/hook", created_by=user)
    secret = endpoint.secret = webhooks.new_secret()
    endpoint.save()
    return endpoint, secret


def verified(secret, request) -> dict:
    """The reference implementation checks the signature (and the timestamp's age)."""
    return Webhook(secret).verify(request.body, {k.lower(): v for k, v in request.headers.items()})


def test_a_job_that_ends_is_posted_as_signed_json(receiver, alice, bob, make_job):
    endpoint, secret = endpoint_for(alice, receiver.url)
    endpoint_for(bob, receiver.url + "/bob")  # another team's receiver hears nothing of alice's jobs
    job = make_job(alice, status="processing")
    assert services.transition(job, "done", "Done", finished_at=job.created_at)
    other = make_job(alice, status="queued")
    assert services.job_cancel(other, alice)
    assert webhooks.deliver_due() == 2
    events = {verified(secret, r)["data"]["id"]: verified(secret, r)["type"] for r in receiver.got}
    assert events == {str(job.code): "job.done", str(other.code): "job.canceled"}
    assert all(r.path == "/hook" for r in receiver.got)
    body = json.loads(receiver.got[0].body)
    assert body["data"]["url"].endswith(f"/jobs/{body['data']['id']}/") and "license" not in json.dumps(body)
    assert set(WebhookDelivery.objects.values_list("status", "last_status")) == {("succeeded", 204)}
    tampered = receiver.got[0]
    tampered.body = tampered.body.replace(b"job.", b"jobs.")
    with pytest.raises(WebhookVerificationError):  # the signature covers the body
        verified(secret, tampered)


def test_a_failed_send_is_retried_with_the_same_id_until_it_succeeds(receiver, alice, make_job):
    endpoint, secret = endpoint_for(alice, receiver.url)
    receiver.statuses = [500, 503]
    services.job_cancel(make_job(alice), alice)
    for _ in range(3):
        webhooks.deliver_due()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status) == ("succeeded", 3, 204)
    assert len({r.headers["webhook-id"] for r in receiver.got}) == 1 and len(receiver.got) == 3
    assert all(verified(secret, r)["type"] == "job.canceled" for r in receiver.got)
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0 and endpoint.is_active


def test_an_endpoint_that_keeps_failing_is_disabled_and_its_admins_told(receiver, alice, make_job, settings,
                                                                        mailoutbox):
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 3
    settings.ADMINS = ["root@example.com"]
    alice.email = "alice@example.com"
    alice.save()
    Membership.objects.filter(user=alice).update(role="owner")
    endpoint, secret = endpoint_for(alice, receiver.url)
    receiver.statuses = [500] * 10
    services.job_cancel(make_job(alice), alice)
    for _ in range(6):
        webhooks.deliver_due()
    endpoint.refresh_from_db()
    assert not endpoint.is_active and "3 failed attempts in a row" in endpoint.disabled_reason
    assert len(receiver.got) == 3  # nothing more once disabled
    assert WebhookDelivery.objects.get().status == "failed"
    assert sorted(tuple(m.to) for m in mailoutbox) == [("alice@example.com",), ("root@example.com",)]
    services.job_cancel(make_job(alice), alice)
    assert not WebhookDelivery.objects.filter(status="pending").exists()  # a disabled endpoint gets nothing


def test_a_private_receiver_is_refused_unless_allowed(receiver, alice, make_job, settings):
    settings.WEBHOOK_ALLOWED_PRIVATE = ()
    endpoint_for(alice, receiver.url)
    services.job_cancel(make_job(alice), alice)
    webhooks.deliver_due()
    delivery = WebhookDelivery.objects.get()
    assert receiver.got == [] and delivery.status == "pending" and "Could not connect" in delivery.last_error
    assert str(receiver.port) not in delivery.last_error


def test_the_page_adds_a_webhook_shows_its_secret_once_and_sends_a_test_event(receiver, client, alice,
                                                                              django_user_model):
    Membership.objects.filter(user=alice).update(role="owner")
    client.force_login(alice)
    refused = client.post("/webhooks/", {"url": "http://10.0.0.9/hook"}).content.decode()
    assert 'id="error-url">This link points to a private or local address.' in refused
    page = client.post("/webhooks/", {"url": receiver.url + "/hook", "description": "CRM"}).content.decode()
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret in page and endpoint.secret not in endpoint.secret_encrypted
    assert endpoint.secret not in client.get("/webhooks/").content.decode()
    client.post(f"/webhooks/{endpoint.pk}/test/")
    webhooks.deliver_due()
    assert verified(endpoint.secret, receiver.got[0])["type"] == "test"
    assert "HTTP 204" in client.get("/webhooks/").content.decode()
    carol = django_user_model.objects.create_user("carol", password="pw-carol-123!")
    Membership.objects.create(team=alice.teams.first(), user=carol, role="creator")
    client.force_login(carol)
    assert client.get("/webhooks/").status_code == 403
