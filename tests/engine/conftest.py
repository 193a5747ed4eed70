"""Fixtures of the engine's HTTP API tests (helpers in tests/engine/api_support.py)."""

import json

import pytest

from engine import faults
from tests.engine.api_support import ALICE, Api, _reset_producers
from tests.support.http import Routes


@pytest.fixture
def engine(settings, tmp_path, live_server):
    """Alice's license is in ENGINE_LICENSES; the engine runs instant and fault-free
    unless a test says otherwise; its media go to a fresh folder."""
    settings.ENGINE_LICENSES = [ALICE]
    settings.ENGINE_FAULTS = "mode=instant"
    settings.ENGINE_MEDIA_ROOT = tmp_path / "engine-media"
    settings.ENGINE_BASE_URL = live_server.url + "/engine"
    faults.reset_rngs()
    return live_server


@pytest.fixture
def api(live_server):
    return Api(live_server.url + "/engine")


@pytest.fixture
def files(settings):
    """Links served on loopback (tests.support.http.Routes: path -> bytes, status,
    headers, drip), allowed to the engine's fetcher as this one exact origin."""
    server = Routes()
    settings.ENGINE_FETCH_ALLOWED_PRIVATE = (server.url,)
    yield server
    server.close()


@pytest.fixture
def broker(tmp_path):
    """A real kombu filesystem broker in a temporary folder; yields a function that
    returns the messages queued so far (decoded bodies with their headers)."""
    from navtalk_portal.celery import app

    folder = tmp_path / "broker"
    folder.mkdir()
    saved = (app.conf.broker_url, app.conf.broker_transport_options)
    app.conf.broker_url = "filesystem://"
    app.conf.broker_transport_options = {"data_folder_in": str(folder), "data_folder_out": str(folder),
                                         "control_folder": str(tmp_path / "control"), "store_processed": False}
    _reset_producers(app)

    def messages():
        found = []
        for path in sorted(folder.iterdir()):
            envelope = json.loads(path.read_text())
            found.append({"task": envelope["headers"]["task"], "args": envelope["headers"]["argsrepr"],
                          "routing_key": envelope["properties"]["delivery_info"]["routing_key"]})
        return found

    yield messages
    app.conf.broker_url, app.conf.broker_transport_options = saved
    _reset_producers(app)
