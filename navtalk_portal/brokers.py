"""kombu transports with fixes the portal depends on, registered under the usual URL
schemes (``filesystem://`` and ``redis://``) so nothing else has to name them.

Hand-written because the fixes are not in a kombu release yet (5.7.0 here); each class
says what breaks without it and where it was seen. Delete a class once kombu has the fix
and the fault suite (tests/faults/) still passes without it.
"""

import os
import uuid
from time import time_ns

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, filesystem, redis
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps
from redis.exceptions import ConnectionError as RedisConnectionError


class _AtomicFilesystemChannel(filesystem.Channel):
    """Two fixes to kombu's filesystem channel.

    Atomic writes: kombu writes a message file in place, so a consumer can take it while
    it is still empty, fail to decode it and stop the whole worker ("Unrecoverable error:
    JSONDecodeError", seen under load in tests/faults). Write the message under a name no
    consumer picks up, then rename it into place.

    Priorities: consumers take a queue's files in name order, and kombu names them by
    time, so the poller's tick waited behind every submission of a burst (1,000 jobs
    finished 2.7× the upstream's latency after the last submit, bench/polling.py). Names
    start with the message's priority (0-9, 0 first, as the portal uses them on Redis),
    then a fixed-width time: most urgent first, first in first out within a priority.
    """

    def _put(self, queue, payload, **kwargs):
        priority = self._get_message_priority(payload)
        name = f"{priority}-{time_ns() // 1000:017d}_{uuid.uuid4()}.{queue}.msg"
        tmp = os.path.join(self.data_folder_out, f".part-{uuid.uuid4().hex}")  # not "<x>.<queue>.msg"
        try:
            with open(tmp, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(tmp, os.path.join(self.data_folder_out, name))
        except OSError as exc:
            raise ChannelError(f"Cannot add file {name!r} to directory") from exc


class FilesystemTransport(filesystem.Transport):
    Channel = _AtomicFilesystemChannel


class _ClosingSafeRedisChannel(redis.Channel):
    """When Redis goes away, celery's consumer closes its broker connection twice
    (``collect()``, then ``close()``; celery 5.7.0 ``on_connection_error_after_connected``).
    The second close can reach a channel whose transport was already detached from its
    connection; putting unacknowledged messages back then needs a new Redis client, and
    building one reads ``self.connection.client.hostname`` from ``None``. That
    AttributeError is not a connection error, so the worker calls it unrecoverable, and
    its shutdown hangs on the same error: a live process that consumes nothing, for
    good (tests/faults/test_broker_faults.py, about 1 run in 10 under load).

    Report a detached transport as what it is, a lost connection: kombu and celery ignore
    connection errors while closing, and the consumer reconnects. The messages it could
    not put back are the ones a dead Redis lost anyway; the reconciler recovers their jobs.
    """

    def _connparams(self, asynchronous=False):
        if self.connection.client is None:
            raise RedisConnectionError("the broker connection is already closed")
        return super()._connparams(asynchronous=asynchronous)


class RedisTransport(redis.Transport):
    Channel = _ClosingSafeRedisChannel


TRANSPORT_ALIASES["filesystem"] = "navtalk_portal.brokers:FilesystemTransport"
TRANSPORT_ALIASES["redis"] = TRANSPORT_ALIASES["rediss"] = "navtalk_portal.brokers:RedisTransport"
