"""API tests run against a live server over real HTTP, with personal access tokens."""

import pytest
import requests


class Api:
    def __init__(self, base: str, token: str):
        self.base, self.session = base.rstrip("/"), requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base}/api/v1/{path.lstrip('/')}"

    def get(self, path, **kw):
        return self.session.get(self.url(path), timeout=30, **kw)

    def post(self, path, **kw):
        return self.session.post(self.url(path), timeout=30, **kw)


@pytest.fixture
def token_for(db):
    from accounts.models import Membership
    from api.models import ApiToken

    def make(user, scope="write", **fields):
        team = fields.pop("team", None) or Membership.objects.filter(user=user).first().team
        return ApiToken.issue(user=user, team=team, name=fields.pop("name", "script"), scope=scope, **fields)

    return make


@pytest.fixture
def api_for(live_server, token_for):
    def make(user, **kw):
        row, token = token_for(user, **kw)
        return Api(live_server.url, token)

    return make


@pytest.fixture(autouse=True)
def fresh_rate_counts():
    """Per-token call counts live in Django's cache; a new test starts from zero."""
    from django.core.cache import cache

    cache.clear()
