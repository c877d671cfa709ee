"""Helpers for the management API tests: a workspace with its owner, members with roles,
and functions, sources and destinations made through the API itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from headrace.services import Services

DESTINATION_CODE = """\
async def on_track(event, settings):
    console.log(f"{event['event']} with key of length {len(settings.get('apiKey', ''))}")
    return {"seen": event["event"]}
"""
INSERT_CODE = """\
def on_track(event, settings):
    event["properties"] = {"plan": settings.get("plan", "free")}
    return event
"""
SOURCE_CODE = """\
def on_request(request, settings):
    Segment.track({"event": "Hooked", "userId": "u1"})
"""
SECRET = "sk_live_plaintext_never_at_rest_0123456789"

TRACK_EVENT = {"type": "track", "event": "Signed Up", "userId": "u1", "messageId": "m1"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Caller:
    """A token of a member of a workspace, with the client to call the API."""

    client: TestClient
    token: str
    workspace_id: str
    member_id: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(f"/api/v1{path}", headers=self.headers, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.client.post(f"/api/v1{path}", headers=self.headers, json=json, **kwargs)

    def patch(self, path: str, json: Any = None) -> Any:
        return self.client.patch(f"/api/v1{path}", headers=self.headers, json=json)

    def delete(self, path: str) -> Any:
        return self.client.delete(f"/api/v1{path}", headers=self.headers)

    def data(self, response: Any, status: int = 200) -> Any:
        assert response.status_code == status, response.text
        return response.json()["data"]

    # -- making things ---------------------------------------------------------------------

    def create_function(self, **fields: Any) -> dict[str, Any]:
        body = {
            "displayName": "Send to API",
            "resourceType": "DESTINATION",
            "code": DESTINATION_CODE,
            "settings": [
                {"name": "apiKey", "type": "STRING", "required": True, "sensitive": True},
                {"name": "region", "type": "STRING"},
            ],
        }
        body.update(fields)
        return dict(self.data(self.post("/functions", body), 201))

    def create_destination(self, function_id: str, **fields: Any) -> dict[str, Any]:
        body = {
            "name": "API",
            "kind": "FUNCTION",
            "functionId": function_id,
            "settings": {"apiKey": SECRET, "region": "eu"},
        }
        body.update(fields)
        return dict(self.data(self.post("/destinations", body), 201))

    def create_member(self, *roles: dict[str, Any], email: str = "someone@example.com") -> Caller:
        member = self.data(self.post("/members", {"email": email, "roles": list(roles)}), 201)
        token = self.data(
            self.post("/tokens", {"memberId": member["id"], "description": email}), 201
        )
        return Caller(self.client, token["token"], self.workspace_id, member["id"])


def owner_of(client: TestClient, services: Services, name: str = "acme") -> Caller:
    created = services.workspaces.create(name)
    return Caller(client, created.token, created.workspace.id, created.owner_member_id)


def only_error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    errors = response.json()["errors"]
    assert len(errors) >= 1
    error: dict[str, Any] = errors[0]
    return error


def connected_source(owner: Caller, name: str) -> dict[str, Any]:
    """A source connected to a webhook destination (which nothing delivers to here)."""
    source: dict[str, Any] = owner.data(
        owner.post("/sources", {"name": name, "kind": "TRACKING"}), 201
    )
    owner.data(
        owner.post(
            "/destinations",
            {
                "name": f"{name} warehouse",
                "kind": "WEBHOOK",
                "sourceIds": [source["id"]],
                "settings": {"url": "https://hooks.example/in"},
            },
        ),
        201,
    )
    return source
