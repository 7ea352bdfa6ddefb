"""The REST API's clients, for the price override endpoints."""

from tests.api.conftest import api, non_staff_api, staff_user  # noqa: F401  (re-exported fixtures)
