"""`/api/v1/functions`: create, read, edit (a new version per save), delete, versions,
restore and deploy. Saving never changes what an instance runs; deploying does."""

from __future__ import annotations

from tests.api.support import DESTINATION_CODE, Caller, only_error

NEW_CODE = "def on_track(event, settings):\n    return 'v2'\n"


def test_create_returns_the_function_with_version_one_and_nothing_deployed(owner: Caller) -> None:
    function = owner.create_function(description="posts orders")

    assert function["id"].startswith("fn_")
    assert function["displayName"] == "Send to API"
    assert function["resourceType"] == "DESTINATION"
    assert function["language"] == "python"
    assert function["code"] == DESTINATION_CODE
    assert function["timeoutMs"] == 5000
    assert function["createdBy"] == owner.member_id
    assert function["latestVersion"]["version"] == 1
    assert function["deployedVersions"] == []
    assert function["settings"][0] == {
        "name": "apiKey",
        "label": "apiKey",
        "description": "",
        "type": "STRING",
        "required": True,
        "sensitive": True,
    }


def test_get_returns_what_create_returned(owner: Caller) -> None:
    function = owner.create_function()

    assert owner.data(owner.get(f"/functions/{function['id']}")) == function


def test_list_filters_by_resource_type(owner: Caller) -> None:
    destination = owner.create_function()
    insert = owner.create_function(
        displayName="Enrich",
        resourceType="INSERT_DESTINATION",
        code="def on_track(e, s):\n    return e\n",
        settings=[],
    )

    everything = owner.data(owner.get("/functions"))
    inserts = owner.data(owner.get("/functions", params={"resourceType": "INSERT_DESTINATION"}))

    assert [f["id"] for f in everything] == [destination["id"], insert["id"]]
    assert [f["id"] for f in inserts] == [insert["id"]]


def test_code_that_does_not_compile_is_422_with_the_line(owner: Caller) -> None:
    response = owner.post(
        "/functions",
        {
            "displayName": "Broken",
            "resourceType": "DESTINATION",
            "code": "def on_track(event, settings):\n    return (\n",
        },
    )

    error = only_error(response, 422)
    assert error["field"] == "code"
    assert error["line"] == 2
    assert "SyntaxError" in error["message"]


def test_a_forbidden_import_is_422_naming_the_module_and_line(owner: Caller) -> None:
    response = owner.post(
        "/functions",
        {
            "displayName": "Sneaky",
            "resourceType": "DESTINATION",
            "code": "import json\nimport subprocess\ndef on_track(e, s):\n    pass\n",
        },
    )

    error = only_error(response, 422)
    assert error["line"] == 2
    assert "subprocess" in error["message"]


def test_handlers_must_fit_the_resource_type(owner: Caller) -> None:
    response = owner.post(
        "/functions",
        {"displayName": "Wrong", "resourceType": "SOURCE", "code": DESTINATION_CODE},
    )

    assert "on_request" in only_error(response, 422)["message"]


def test_display_name_is_unique_in_the_workspace(owner: Caller) -> None:
    owner.create_function(displayName="Twice")

    response = owner.post(
        "/functions",
        {"displayName": "Twice", "resourceType": "DESTINATION", "code": DESTINATION_CODE},
    )

    assert only_error(response, 409)["field"] == "displayName"


def test_display_name_over_120_characters_is_422(owner: Caller) -> None:
    response = owner.post(
        "/functions",
        {"displayName": "x" * 121, "resourceType": "DESTINATION", "code": DESTINATION_CODE},
    )

    assert only_error(response, 422)["field"] == "displayName"


def test_empty_display_name_is_422(owner: Caller) -> None:
    response = owner.post(
        "/functions",
        {"displayName": "  ", "resourceType": "DESTINATION", "code": DESTINATION_CODE},
    )

    assert only_error(response, 422)["field"] == "displayName"


def test_setting_names_must_be_identifiers(owner: Caller) -> None:
    response = owner.post(
        "/functions",
        {
            "displayName": "Bad setting",
            "resourceType": "DESTINATION",
            "code": DESTINATION_CODE,
            "settings": [{"name": "api-key", "type": "STRING"}],
        },
    )

    error = only_error(response, 422)
    assert error["field"] == "settings[0].name"
    assert "api-key" in error["message"]


def test_setting_names_must_be_unique(owner: Caller) -> None:
    response = owner.post(
        "/functions",
        {
            "displayName": "Twice a setting",
            "resourceType": "DESTINATION",
            "code": DESTINATION_CODE,
            "settings": [{"name": "a", "type": "STRING"}, {"name": "a", "type": "BOOLEAN"}],
        },
    )

    assert only_error(response, 422)["field"] == "settings[1].name"


def test_every_save_of_code_makes_a_new_latest_version(owner: Caller) -> None:
    function = owner.create_function()

    updated = owner.data(owner.patch(f"/functions/{function['id']}", {"code": NEW_CODE}))

    assert updated["latestVersion"]["version"] == 2
    assert updated["code"] == NEW_CODE


def test_renaming_makes_no_version(owner: Caller) -> None:
    function = owner.create_function()

    updated = owner.data(owner.patch(f"/functions/{function['id']}", {"displayName": "Renamed"}))

    assert updated["displayName"] == "Renamed"
    assert updated["latestVersion"] == function["latestVersion"]


def test_saving_broken_code_keeps_the_latest_version(owner: Caller) -> None:
    function = owner.create_function()

    response = owner.patch(f"/functions/{function['id']}", {"code": "def on_track(:\n"})

    assert only_error(response, 422)["line"] == 1
    again = owner.data(owner.get(f"/functions/{function['id']}"))
    assert again["latestVersion"]["version"] == 1


def test_saving_does_not_move_deployed_instances(owner: Caller) -> None:
    function = owner.create_function()
    destination = owner.create_destination(function["id"])

    owner.patch(f"/functions/{function['id']}", {"code": NEW_CODE})

    again = owner.data(owner.get(f"/destinations/{destination['id']}"))
    assert again["versionId"] == function["latestVersion"]["id"]
    saved = owner.data(owner.get(f"/functions/{function['id']}"))
    assert saved["deployedVersions"] == [
        {
            "id": function["latestVersion"]["id"],
            "version": 1,
            "instanceIds": [destination["id"]],
        }
    ]


def test_deploy_moves_every_instance_to_the_latest_version(owner: Caller) -> None:
    function = owner.create_function()
    first = owner.create_destination(function["id"], name="one")
    second = owner.create_destination(function["id"], name="two")
    latest = owner.data(owner.patch(f"/functions/{function['id']}", {"code": NEW_CODE}))

    deployed = owner.data(owner.post(f"/functions/{function['id']}/deploy"))

    assert deployed["version"] == latest["latestVersion"]
    assert sorted(deployed["instanceIds"]) == sorted([first["id"], second["id"]])
    for destination in (first, second):
        again = owner.data(owner.get(f"/destinations/{destination['id']}"))
        assert again["versionId"] == latest["latestVersion"]["id"]


def test_deploy_moves_only_the_given_instances(owner: Caller) -> None:
    function = owner.create_function()
    moved = owner.create_destination(function["id"], name="moved")
    stays = owner.create_destination(function["id"], name="stays")
    owner.patch(f"/functions/{function['id']}", {"code": NEW_CODE})

    owner.data(owner.post(f"/functions/{function['id']}/deploy", {"instanceIds": [moved["id"]]}))

    assert owner.data(owner.get(f"/destinations/{stays['id']}"))["versionId"] == stays["versionId"]
    assert owner.data(owner.get(f"/destinations/{moved['id']}"))["versionId"] != moved["versionId"]


def test_deploy_refuses_an_id_that_is_not_an_instance_of_the_function(owner: Caller) -> None:
    function = owner.create_function()

    response = owner.post(f"/functions/{function['id']}/deploy", {"instanceIds": ["dst_nope"]})

    assert only_error(response, 422)["field"] == "instanceIds[0]"


def test_versions_list_newest_first_with_latest_and_deployed_flags(owner: Caller) -> None:
    function = owner.create_function()
    owner.create_destination(function["id"])
    owner.patch(f"/functions/{function['id']}", {"code": NEW_CODE})

    versions = owner.data(owner.get(f"/functions/{function['id']}/versions"))

    assert [(v["version"], v["isLatest"], v["isDeployed"]) for v in versions] == [
        (2, True, False),
        (1, False, True),
    ]
    assert versions[0]["author"] == owner.member_id


def test_one_version_shows_its_code(owner: Caller) -> None:
    function = owner.create_function()
    owner.patch(f"/functions/{function['id']}", {"code": NEW_CODE})

    first = owner.data(
        owner.get(f"/functions/{function['id']}/versions/{function['latestVersion']['id']}")
    )

    assert first["code"] == DESTINATION_CODE


def test_restore_makes_an_old_version_the_new_latest(owner: Caller) -> None:
    function = owner.create_function()
    owner.patch(f"/functions/{function['id']}", {"code": NEW_CODE})

    restored = owner.data(
        owner.post(
            f"/functions/{function['id']}/versions",
            {"versionId": function["latestVersion"]["id"]},
        ),
        201,
    )

    assert (restored["version"], restored["restoredFrom"]) == (3, 1)
    assert owner.data(owner.get(f"/functions/{function['id']}"))["code"] == DESTINATION_CODE


def test_restore_of_an_unknown_version_is_404(owner: Caller) -> None:
    function = owner.create_function()

    response = owner.post(f"/functions/{function['id']}/versions", {"versionId": "fv_nope"})

    assert only_error(response, 404)["field"] == "versionId"


def test_delete_removes_a_function_without_instances(owner: Caller) -> None:
    function = owner.create_function()

    owner.data(owner.delete(f"/functions/{function['id']}"))

    assert owner.get(f"/functions/{function['id']}").status_code == 404


def test_delete_with_instances_is_409_naming_them(owner: Caller) -> None:
    function = owner.create_function()
    destination = owner.create_destination(function["id"])

    error = only_error(owner.delete(f"/functions/{function['id']}"), 409)

    assert destination["id"] in error["message"]
    assert owner.get(f"/functions/{function['id']}").status_code == 200
