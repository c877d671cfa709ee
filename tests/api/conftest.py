"""A workspace owner on the in-process API, for the management API tests."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from headrace.services import Services
from tests.api.support import Caller, owner_of


@pytest.fixture
def owner(client: TestClient, services: Services) -> Caller:
    return owner_of(client, services)
