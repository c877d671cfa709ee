"""Sources, destinations and insert function instances: CRUD, pinning, settings checked
against the schema of what they run."""

from __future__ import annotations

from headrace.services import Services
from tests.api.support import INSERT_CODE, SECRET, SOURCE_CODE, Caller, only_error


def _insert_function(owner: Caller) -> dict[str, object]:
    return owner.create_function(
        displayName="Enrich",
        resourceType="INSERT_DESTINATION",
        code=INSERT_CODE,
        settings=[{"name": "plan", "type": "STRING"}],
    )


def _webhook(owner: Caller, **fields: object) -> dict[str, object]:
    body: dict[str, object] = {
        "name": "hook",
        "kind": "WEBHOOK",
        "settings": {"url": "https://hooks.example.com/in", "headers": {"X-Key": SECRET}},
    }
    body.update(fields)
    return dict(owner.data(owner.post("/destinations", body), 201))


# -- sources ------------------------------------------------------------------------------


def test_tracking_source_gets_an_unguessable_write_key(owner: Caller) -> None:
    first = owner.data(owner.post("/sources", {"name": "web", "kind": "TRACKING"}), 201)
    second = owner.data(owner.post("/sources", {"name": "app", "kind": "TRACKING"}), 201)

    assert first["id"].startswith("src_")
    assert len(first["writeKey"]) >= 32
    assert first["writeKey"] != second["writeKey"]
    assert first["enabled"] is True


def test_write_key_finds_the_enabled_tracking_source(owner: Caller, services: Services) -> None:
    source = owner.data(owner.post("/sources", {"name": "web", "kind": "TRACKING"}), 201)
    found = services.sources.find_tracking_source(source["writeKey"])
    owner.patch(f"/sources/{source['id']}", {"enabled": False})

    assert found is not None and (found.id, found.workspace_id) == (
        source["id"],
        owner.workspace_id,
    )
    assert services.sources.find_tracking_source(source["writeKey"]) is None


def test_tracking_source_takes_no_function(owner: Caller) -> None:
    function = owner.create_function()

    response = owner.post(
        "/sources", {"name": "web", "kind": "TRACKING", "functionId": function["id"]}
    )

    assert only_error(response, 422)["field"] == "functionId"


def test_function_source_is_pinned_to_the_latest_version(owner: Caller) -> None:
    function = owner.create_function(
        displayName="Hook", resourceType="SOURCE", code=SOURCE_CODE, settings=[]
    )

    source = owner.data(
        owner.post("/sources", {"name": "hook", "kind": "FUNCTION", "functionId": function["id"]}),
        201,
    )

    assert source["versionId"] == function["latestVersion"]["id"]
    assert source["writeKey"] is None


def test_function_source_needs_a_source_function(owner: Caller) -> None:
    function = owner.create_function()

    response = owner.post(
        "/sources", {"name": "hook", "kind": "FUNCTION", "functionId": function["id"]}
    )

    error = only_error(response, 422)
    assert error["field"] == "functionId"
    assert "SOURCE" in error["message"]


def test_source_can_be_renamed_listed_and_deleted(owner: Caller) -> None:
    source = owner.data(owner.post("/sources", {"name": "web", "kind": "TRACKING"}), 201)

    renamed = owner.data(owner.patch(f"/sources/{source['id']}", {"name": "website"}))
    listed = owner.data(owner.get("/sources"))
    owner.data(owner.delete(f"/sources/{source['id']}"))

    assert renamed["name"] == "website"
    assert [s["id"] for s in listed] == [source["id"]]
    assert owner.get(f"/sources/{source['id']}").status_code == 404


# -- destinations -------------------------------------------------------------------------


def test_function_destination_is_created_on_the_latest_version(owner: Caller) -> None:
    function = owner.create_function()

    destination = owner.create_destination(function["id"])

    assert destination["id"].startswith("dst_")
    assert destination["versionId"] == function["latestVersion"]["id"]
    assert destination["batch"] == {"maxEvents": 20, "maxWaitMs": 10000}


def test_destination_settings_hide_sensitive_values(owner: Caller) -> None:
    function = owner.create_function()

    destination = owner.create_destination(function["id"])

    assert destination["settings"] == {"apiKey": "••••••", "region": "eu"}
    assert destination["sensitiveSettings"] == {"apiKey": True}


def test_a_missing_required_setting_is_422_naming_it(owner: Caller) -> None:
    function = owner.create_function()

    response = owner.post(
        "/destinations",
        {"name": "API", "kind": "FUNCTION", "functionId": function["id"], "settings": {}},
    )

    error = only_error(response, 422)
    assert error["field"] == "settings.apiKey"
    assert "required" in error["message"]


def test_a_setting_of_the_wrong_type_is_422_naming_it(owner: Caller) -> None:
    function = owner.create_function()

    response = owner.post(
        "/destinations",
        {
            "name": "API",
            "kind": "FUNCTION",
            "functionId": function["id"],
            "settings": {"apiKey": "k", "region": ["eu"]},
        },
    )

    assert only_error(response, 422)["field"] == "settings.region"


def test_an_unknown_setting_is_422_naming_it(owner: Caller) -> None:
    function = owner.create_function()

    response = owner.post(
        "/destinations",
        {
            "name": "API",
            "kind": "FUNCTION",
            "functionId": function["id"],
            "settings": {"apiKey": "k", "colour": "red"},
        },
    )

    assert only_error(response, 422)["field"] == "settings.colour"


def test_every_setting_type_is_checked(owner: Caller) -> None:
    function = owner.create_function(
        displayName="Typed",
        settings=[
            {"name": "flag", "type": "BOOLEAN"},
            {"name": "tags", "type": "ARRAY"},
            {"name": "mapping", "type": "TEXT_MAP"},
        ],
    )
    good = {"flag": True, "tags": ["a"], "mapping": {"a": "b"}}
    bad = [{"flag": "yes"}, {"tags": [1]}, {"mapping": {"a": 1}}]

    created = owner.create_destination(function["id"], settings=good)
    refusals = [
        owner.post(
            "/destinations",
            {"name": "x", "kind": "FUNCTION", "functionId": function["id"], "settings": s},
        )
        for s in bad
    ]

    assert created["settings"] == good
    assert [only_error(r, 422)["field"] for r in refusals] == [
        "settings.flag",
        "settings.tags",
        "settings.mapping",
    ]


def test_patching_settings_keeps_a_masked_secret_and_changes_the_rest(owner: Caller) -> None:
    function = owner.create_function()
    destination = owner.create_destination(function["id"])

    updated = owner.data(
        owner.patch(
            f"/destinations/{destination['id']}",
            {"settings": {"apiKey": "••••••", "region": "us"}},
        )
    )

    assert updated["settings"] == {"apiKey": "••••••", "region": "us"}
    assert updated["sensitiveSettings"] == {"apiKey": True}


def test_webhook_destination_needs_an_http_url(owner: Caller) -> None:
    response = owner.post(
        "/destinations",
        {"name": "hook", "kind": "WEBHOOK", "settings": {"url": "ftp://example.com"}},
    )

    assert only_error(response, 422)["field"] == "settings.url"


def test_webhook_headers_are_sensitive(owner: Caller) -> None:
    destination = _webhook(owner)

    assert destination["settings"] == {"url": "https://hooks.example.com/in", "headers": "••••••"}
    assert destination["sensitiveSettings"] == {"headers": True}


def test_destination_connects_to_sources_of_the_workspace(owner: Caller) -> None:
    source = owner.data(owner.post("/sources", {"name": "web", "kind": "TRACKING"}), 201)

    destination = _webhook(owner, sourceIds=[source["id"]])
    disconnected = owner.data(owner.patch(f"/destinations/{destination['id']}", {"sourceIds": []}))

    assert destination["sourceIds"] == [source["id"]]
    assert disconnected["sourceIds"] == []


def test_destination_with_an_unknown_source_is_404_naming_it(owner: Caller) -> None:
    response = owner.post(
        "/destinations",
        {
            "name": "hook",
            "kind": "WEBHOOK",
            "sourceIds": ["src_nope"],
            "settings": {"url": "https://example.com"},
        },
    )

    assert only_error(response, 404)["field"] == "sourceIds[0]"


def test_batch_is_bounded(owner: Caller) -> None:
    response = owner.post(
        "/destinations",
        {
            "name": "hook",
            "kind": "WEBHOOK",
            "settings": {"url": "https://example.com"},
            "batch": {"maxEvents": 401},
        },
    )

    assert "batch.maxEvents" in only_error(response, 422)["message"]


def test_destination_can_be_disabled_and_deleted(owner: Caller) -> None:
    destination = _webhook(owner)

    disabled = owner.data(owner.patch(f"/destinations/{destination['id']}", {"enabled": False}))
    owner.data(owner.delete(f"/destinations/{destination['id']}"))

    assert disabled["enabled"] is False
    assert owner.data(owner.get("/destinations")) == []


# -- insert function instances ------------------------------------------------------------


def test_insert_function_instance_sits_in_front_of_a_destination(owner: Caller) -> None:
    function = _insert_function(owner)
    destination = _webhook(owner)

    instance = owner.data(
        owner.post(
            "/insert-function-instances",
            {
                "functionId": function["id"],
                "destinationId": destination["id"],
                "settings": {"plan": "pro"},
            },
        ),
        201,
    )

    assert instance["id"].startswith("ins_")
    assert (
        instance["versionId"]
        == owner.data(owner.get(f"/functions/{function['id']}"))["latestVersion"]["id"]
    )
    assert (
        owner.data(owner.get(f"/destinations/{destination['id']}"))["insertFunctionInstanceId"]
        == instance["id"]
    )


def test_a_second_insert_function_instance_on_a_destination_is_409(owner: Caller) -> None:
    function = _insert_function(owner)
    destination = _webhook(owner)
    body = {"functionId": function["id"], "destinationId": destination["id"]}
    owner.data(owner.post("/insert-function-instances", body), 201)

    assert only_error(owner.post("/insert-function-instances", body), 409)["field"] == (
        "destinationId"
    )


def test_one_insert_function_serves_many_destinations(owner: Caller) -> None:
    function = _insert_function(owner)

    for name in ("a", "b"):
        destination = _webhook(owner, name=name)
        owner.data(
            owner.post(
                "/insert-function-instances",
                {"functionId": function["id"], "destinationId": destination["id"]},
            ),
            201,
        )

    assert len(owner.data(owner.get("/insert-function-instances"))) == 2


def test_insert_function_instance_can_be_updated_and_deleted(owner: Caller) -> None:
    function = _insert_function(owner)
    destination = _webhook(owner)
    instance = owner.data(
        owner.post(
            "/insert-function-instances",
            {"functionId": function["id"], "destinationId": destination["id"]},
        ),
        201,
    )

    updated = owner.data(
        owner.patch(
            f"/insert-function-instances/{instance['id']}",
            {"enabled": False, "settings": {"plan": "team"}},
        )
    )
    owner.data(owner.delete(f"/insert-function-instances/{instance['id']}"))

    assert (updated["enabled"], updated["settings"]) == (False, {"plan": "team"})
    assert owner.get(f"/insert-function-instances/{instance['id']}").status_code == 404


def test_insert_function_instance_needs_an_insert_function(owner: Caller) -> None:
    function = owner.create_function()
    destination = _webhook(owner)

    response = owner.post(
        "/insert-function-instances",
        {"functionId": function["id"], "destinationId": destination["id"]},
    )

    assert only_error(response, 422)["field"] == "functionId"
