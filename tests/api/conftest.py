"""Clients of the REST management API: a staff user's token, a non-staff user, anonymous.

``api`` records every response body, so tests can assert that no secret ever left.
"""

from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from apitokens.services import api_token_create


class RecordingClient(APIClient):
    """An APIClient that keeps every response body it received."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bodies: list[str] = []

    def request(self, *args: Any, **kwargs: Any) -> Any:
        response = super().request(*args, **kwargs)
        self.bodies.append(response.content.decode(errors="replace"))
        return response

    def assert_never_sent(self, *secrets: str) -> None:
        assert self.bodies, "no response recorded"
        for secret in secrets:
            leaks = [body[:200] for body in self.bodies if secret in body]
            assert not leaks, f"a response contained a secret: {leaks}"


@pytest.fixture
def staff_user(db: None) -> User:
    return User.objects.create_user("ops", is_staff=True)  # no password: no slow hashing


@pytest.fixture
def api(staff_user: User) -> RecordingClient:
    """A staff user's client, authenticated with an API token (Authorization: Bearer)."""
    _, token = api_token_create(user=staff_user, label="tests")
    client = RecordingClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def non_staff_api(db: None) -> APIClient:
    user = User.objects.create_user("plain")
    _, token = api_token_create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client
