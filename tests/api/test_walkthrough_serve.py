"""The README's functions walkthrough against a real `headrace serve`, as a new user with
curl would do it: create, preview, save without touching the deployed instance, deploy,
restore, and read the audit trail."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.support import DESTINATION_CODE, SECRET, TRACK_EVENT
from tests.helpers import ServerProcess

V2_CODE = "async def on_track(event, settings):\n    return {'version': 2}\n"


def _data(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()["data"]


def test_create_preview_save_deploy_restore_on_a_running_server(
    shared_server: ServerProcess,
) -> None:
    with shared_server.client(shared_server.owner_token) as http:
        function = _data(
            http.post(
                "/api/v1/functions",
                json={
                    "displayName": "Walkthrough",
                    "resourceType": "DESTINATION",
                    "code": DESTINATION_CODE,
                    "settings": [
                        {"name": "apiKey", "type": "STRING", "required": True, "sensitive": True}
                    ],
                },
            ),
            201,
        )
        fn = f"/api/v1/functions/{function['id']}"

        preview = _data(
            http.post(
                "/api/v1/functions/preview",
                json={
                    "functionId": function["id"],
                    "settings": {"apiKey": "test"},
                    "payload": TRACK_EVENT,
                },
            )
        )
        destination = _data(
            http.post(
                "/api/v1/destinations",
                json={
                    "name": "Walkthrough API",
                    "kind": "FUNCTION",
                    "functionId": function["id"],
                    "settings": {"apiKey": SECRET},
                },
            ),
            201,
        )
        v2 = _data(http.patch(fn, json={"code": V2_CODE}))
        still_v1 = _data(http.get(f"/api/v1/destinations/{destination['id']}"))
        deployed = _data(http.post(f"{fn}/deploy"))
        restored = _data(
            http.post(f"{fn}/versions", json={"versionId": function["latestVersion"]["id"]}), 201
        )
        versions = _data(http.get(f"{fn}/versions"))
        audit = _data(http.get("/api/v1/audit", params={"resourceId": function["id"]}))

    assert preview["ok"] is True
    assert preview["result"] == {"seen": "Signed Up"}
    assert destination["settings"] == {"apiKey": "••••••"}
    assert still_v1["versionId"] == function["latestVersion"]["id"]
    assert deployed["version"] == v2["latestVersion"]
    assert deployed["instanceIds"] == [destination["id"]]
    assert restored["version"] == 3
    assert [(v["version"], v["isLatest"], v["isDeployed"]) for v in versions] == [
        (3, True, False),
        (2, False, True),
        (1, False, False),
    ]
    assert [e["action"] for e in audit] == [
        "function.restored",
        "function.deployed",
        "function.updated",
        "function.created",
    ]
    assert SECRET not in shared_server.stderr


def test_openapi_document_lists_the_management_routes(shared_server: ServerProcess) -> None:
    with shared_server.client() as http:
        paths = http.get("/api/v1/openapi.json").json()["paths"]

    for path in (
        "/api/v1/functions",
        "/api/v1/functions/preview",
        "/api/v1/functions/{function_id}/deploy",
        "/api/v1/sources",
        "/api/v1/destinations",
        "/api/v1/insert-function-instances",
        "/api/v1/members",
        "/api/v1/tokens",
        "/api/v1/audit",
        "/api/v1/usage",
    ):
        assert path in paths, path
    # The tracking API too, with the headers it reads and the answers it gives.
    for path in ("/v1/track", "/v1/batch", "/v1/import"):
        operation = paths[path]["post"]
        assert {p["name"] for p in operation["parameters"]} == {"Authorization", "Content-Encoding"}
        assert set(operation["responses"]) == {"200", "400", "401", "503"}
