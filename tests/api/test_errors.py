"""Every failure answers in the envelope `{"errors": [{"type", "message"}]}`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from headrace.api import create_app
from headrace.config import Settings
from headrace.services import Services


class Greeting(BaseModel):
    name: str
    times: int


@pytest.fixture
def client_with_body_route(settings: Settings, services: Services) -> Iterator[TestClient]:
    """The real app plus one route that takes a JSON body, to exercise validation."""
    app = create_app(settings, services)

    @app.post("/api/v1/greetings")
    def greet(greeting: Greeting) -> dict[str, str]:
        return {"data": greeting.name * greeting.times}

    with TestClient(app) as client:
        yield client


def only_error(response_json: dict[str, object]) -> dict[str, str]:
    assert set(response_json) == {"errors"}
    errors = response_json["errors"]
    assert isinstance(errors, list) and len(errors) == 1
    error: dict[str, str] = errors[0]
    assert set(error) == {"type", "message"}
    return error


def test_missing_token_is_401_in_the_envelope(client: TestClient) -> None:
    response = client.get("/api/v1/workspace")

    assert response.status_code == 401
    assert only_error(response.json())["type"] == "unauthorized"
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_unknown_token_is_401_in_the_envelope(client: TestClient) -> None:
    response = client.get(
        "/api/v1/workspace", headers={"Authorization": "Bearer hr_not-a-real-token-at-all"}
    )

    assert response.status_code == 401
    assert only_error(response.json()) == {
        "type": "unauthorized",
        "message": "The API token is not valid.",
    }


def test_non_bearer_authorization_is_401(client: TestClient) -> None:
    response = client.get("/api/v1/workspace", headers={"Authorization": "Basic dXNlcjpwdw=="})

    assert response.status_code == 401
    assert "Bearer" in only_error(response.json())["message"]


def test_unknown_route_is_404_in_the_envelope(client: TestClient) -> None:
    response = client.get("/api/v1/no-such-thing")

    assert response.status_code == 404
    assert only_error(response.json())["type"] == "not-found"


def test_wrong_method_is_405_in_the_envelope(client: TestClient) -> None:
    response = client.delete("/healthz")

    assert response.status_code == 405
    assert only_error(response.json())["type"] == "method-not-allowed"


def test_malformed_json_body_is_400_in_the_envelope(client_with_body_route: TestClient) -> None:
    response = client_with_body_route.post(
        "/api/v1/greetings",
        content=b'{"name": "x", ',
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert only_error(response.json()) == {
        "type": "invalid-json",
        "message": "The request body is not valid JSON.",
    }


def test_invalid_field_is_422_naming_the_field(client_with_body_route: TestClient) -> None:
    response = client_with_body_route.post("/api/v1/greetings", json={"name": "x", "times": "many"})

    assert response.status_code == 422
    error = only_error(response.json())
    assert error["type"] == "validation-error"
    assert "'times'" in error["message"]


def test_each_invalid_field_is_its_own_error(client_with_body_route: TestClient) -> None:
    response = client_with_body_route.post("/api/v1/greetings", json={})

    assert response.status_code == 422
    messages = [error["message"] for error in response.json()["errors"]]
    assert len(messages) == 2
    assert any("'name'" in message for message in messages)
    assert any("'times'" in message for message in messages)


def test_unexpected_failure_is_500_without_details(settings: Settings, services: Services) -> None:
    app = create_app(settings, services)

    @app.get("/api/v1/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/v1/boom")

    assert response.status_code == 500
    error = only_error(response.json())
    assert error["type"] == "internal-error"
    assert "secret internals" not in error["message"]
