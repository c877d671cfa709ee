"""`/healthz` says the process is up; `/readyz` says the database can serve."""

from __future__ import annotations

from fastapi.testclient import TestClient

from headrace.api import create_app
from headrace.config import Settings
from headrace.services import Services, prepare_data_dir
from headrace.store import head_revisions


def test_healthz_is_ok(client: TestClient) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"data": {"status": "ok"}}


def test_readyz_is_ready_on_a_migrated_database(client: TestClient) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {
        "data": {"status": "ready", "revision": ",".join(sorted(head_revisions()))}
    }


def test_readyz_is_503_when_the_database_is_not_migrated(settings: Settings) -> None:
    prepare_data_dir(settings.data_dir)
    app = create_app(settings, Services(settings))

    with TestClient(app) as client:
        response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["errors"][0]["type"] == "not-ready"
    assert "revision none" in response.json()["errors"][0]["message"]


def test_readyz_is_503_when_the_database_is_unreachable(settings: Settings) -> None:
    app = create_app(settings, Services(settings))
    # The data directory does not exist, so SQLite cannot open the file.

    with TestClient(app) as client:
        response = client.get("/readyz")

    assert response.status_code == 503
    assert "cannot be used" in response.json()["errors"][0]["message"]


def test_healthz_is_ok_even_when_not_ready(settings: Settings) -> None:
    with TestClient(create_app(settings, Services(settings))) as client:
        assert client.get("/healthz").status_code == 200
