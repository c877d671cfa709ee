"""`GET /api/v1/workspace`: the caller's workspace and nobody else's."""

from __future__ import annotations

import json
from datetime import datetime

from fastapi.testclient import TestClient

from headrace.services import Services
from tests.api.support import owner_of
from tests.helpers import ServerProcess, run_headrace


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_returns_the_workspace_of_the_token_in_the_data_envelope(
    client: TestClient, services: Services
) -> None:
    created = services.workspaces.create("acme")

    response = client.get("/api/v1/workspace", headers=bearer(created.token))

    assert response.status_code == 200
    data = response.json()["data"]
    assert data["id"] == created.workspace.id
    assert data["name"] == "acme"
    assert datetime.fromisoformat(data["createdAt"]).utcoffset() is not None


def test_bearer_scheme_is_case_insensitive(client: TestClient, services: Services) -> None:
    created = services.workspaces.create("acme")

    response = client.get("/api/v1/workspace", headers={"Authorization": f"bearer {created.token}"})

    assert response.status_code == 200


def test_each_token_sees_only_its_own_workspace(client: TestClient, services: Services) -> None:
    a = services.workspaces.create("workspace-a")
    b = services.workspaces.create("workspace-b")

    seen_by_a = client.get("/api/v1/workspace", headers=bearer(a.token)).json()["data"]
    seen_by_b = client.get("/api/v1/workspace", headers=bearer(b.token)).json()["data"]

    assert seen_by_a["id"] == a.workspace.id
    assert seen_by_b["id"] == b.workspace.id


def test_token_of_workspace_b_sees_workspace_b_on_a_running_server(
    shared_server: ServerProcess,
) -> None:
    result = run_headrace(
        "workspace", "create", "tenant-b", "--data-dir", str(shared_server.data_dir)
    )
    b = json.loads(result.stdout)

    with shared_server.client(b["token"]) as http:
        seen_by_b = http.get("/api/v1/workspace").json()["data"]
    with shared_server.client(shared_server.owner_token) as http:
        seen_by_owner = http.get("/api/v1/workspace").json()["data"]

    assert seen_by_b == {**seen_by_b, "id": b["workspace"]["id"], "name": "tenant-b"}
    assert seen_by_owner["name"] == "default"
    assert seen_by_owner["id"] != seen_by_b["id"]


def test_missing_and_bad_tokens_are_401_on_a_running_server(shared_server: ServerProcess) -> None:
    with shared_server.client() as http:
        missing = http.get("/api/v1/workspace")
    with shared_server.client("hr_wrong-token-wrong-token") as http:
        wrong = http.get("/api/v1/workspace")

    for response in (missing, wrong):
        assert response.status_code == 401
        assert response.json()["errors"][0]["type"] == "unauthorized"


def test_readyz_is_ready_on_a_running_server(shared_server: ServerProcess) -> None:
    with shared_server.client() as http:
        response = http.get("/readyz")

    assert response.status_code == 200
    assert response.json()["data"]["status"] == "ready"


def test_names_the_member_of_the_token_and_its_roles(
    client: TestClient, services: Services
) -> None:
    owner = owner_of(client, services)
    function_id = owner.create_function()["id"]
    reader = owner.create_member(
        {"role": "FUNCTIONS_READ_ONLY", "resourceIds": [function_id]}, email="r@example.com"
    )

    owner_member = owner.data(owner.get("/workspace"))["member"]
    reader_member = reader.data(reader.get("/workspace"))["member"]

    assert owner_member["roles"] == [{"role": "WORKSPACE_OWNER", "resourceIds": []}]
    assert reader_member["roles"] == [{"role": "FUNCTIONS_READ_ONLY", "resourceIds": [function_id]}]
    assert reader_member["id"] == reader.member_id != owner_member["id"]
