"""The broker transport fixes in navtalk_portal/brokers.py, each against a real broker.

The Redis one reproduces, step by step, the state a lost connection leaves behind in a
worker (a channel holding an unacknowledged delivery whose transport is already detached
from its connection) and closes the connection the way celery's consumer does.
"""

import uuid

import pytest
from kombu import Connection, Exchange, Queue
from kombu.common import ignore_errors

from navtalk_portal import brokers  # noqa: F401  registers the fixed transports

STOCK = "kombu.transport.redis:Transport"
OURS = "navtalk_portal.brokers:RedisTransport"


def close_after_redis_died(url: str, transport: str, server) -> None:
    conn = Connection(url, transport=transport)
    channel = conn.default_channel
    queue = Queue("t", Exchange("t"), "t")
    queue(channel).declare()
    with conn.Producer(channel=channel) as producer:
        producer.publish({"x": 1}, exchange="t", routing_key="t")
    received = []
    consumer = conn.Consumer([queue], callbacks=[lambda body, message: received.append(message)], channel=channel)
    consumer.consume()
    conn.drain_events(timeout=5)
    assert len(received) == 1 and len(channel.qos._delivered) == 1  # delivered, not acknowledged
    server.kill()
    conn._do_close_transport()  # what connection.collect() leaves when closing its channel timed out
    ignore_errors(conn, conn.close)  # celery's consumer, after collect()


def test_a_worker_survives_closing_its_connection_after_redis_died(own_redis):
    close_after_redis_died(own_redis.url, OURS, own_redis)  # raises nothing


def test_stock_kombu_still_needs_the_redis_fix(own_redis):
    """A canary: when this fails, kombu has fixed the bug; delete _ClosingSafeRedisChannel
    and keep the test above."""
    with pytest.raises(AttributeError, match="hostname"):
        close_after_redis_died(own_redis.url, STOCK, own_redis)


def test_the_portal_uses_the_fixed_transports(tmp_path):
    from navtalk_portal.celery import app

    with app.connection_for_write("redis://127.0.0.1:1/0") as conn:
        assert f"{type(conn.transport).__module__}:{type(conn.transport).__name__}" == OURS
    with app.connection_for_write("filesystem://localhost/", transport_options={
            "data_folder_in": str(tmp_path), "data_folder_out": str(tmp_path), "control_folder": str(tmp_path)}) as conn:
        assert type(conn.transport).__name__ == "FilesystemTransport"


def test_the_filesystem_broker_hands_out_urgent_messages_first(tmp_path):
    """The poller's tick (priority 0) overtakes a burst of submissions (3), which
    overtake deferred work (6); first in, first out within a priority."""
    folder = tmp_path / "queue"
    folder.mkdir()
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder), "store_processed": False,
               "control_folder": str(tmp_path / "control")}  # else kombu writes ./control
    with Connection("filesystem://localhost/", transport_options=options) as conn:
        # A name of its own: kombu keeps bindings per transport class and process, so a
        # "celery" binding made earlier for another folder would route these nowhere.
        name = f"order{uuid.uuid4().hex[:8]}"
        queue = Queue(name, Exchange(name), name)
        with conn.Producer() as producer:
            for label, priority in [("archive-1", 6), ("submit-1", 3), ("submit-2", 3), ("poll-1", 0),
                                    ("submit-3", 3), ("archive-2", 6), ("poll-2", None)]:
                producer.publish({"name": label}, exchange=queue.exchange, routing_key=name,
                                 declare=[queue], priority=priority)
        assert len(list(folder.glob(f"*.{name}.msg"))) == 7
        assert not list(folder.glob(".part-*"))  # every message renamed into place
        taken = []
        with conn.SimpleQueue(queue) as simple:
            while len(taken) < 7:
                message = simple.get(timeout=5)
                taken.append(message.payload["name"])
                message.ack()
    assert taken == ["poll-1", "poll-2", "submit-1", "submit-2", "submit-3", "archive-1", "archive-2"]
