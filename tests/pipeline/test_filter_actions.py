"""Destination filters: validating the filter object, and what each action does to an event."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headrace.pipeline.filters import (
    MAX_FILTERS_PER_DESTINATION,
    ActionType,
    CompiledFilter,
    FilterError,
    apply_filters,
    compile_filter,
    compile_filters,
    run_filters,
)


def track(message_id: str = "m-1", **properties: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "Order Completed",
        "messageId": message_id,
        "userId": "u-1",
        "properties": {"email": "a@example.com", "total": 30, "currency": "EUR", **properties},
        "context": {"ip": "10.0.0.1", "locale": "en-GB", "traits": {"email": "a@example.com"}},
    }


def a_filter(condition: str = "all", *actions: dict[str, Any], **fields: Any) -> CompiledFilter:
    return compile_filter({"id": "f", "if": condition, "actions": list(actions), **fields})


DROP = {"type": "DROP"}


def sample(percent: float, **extra: Any) -> dict[str, Any]:
    return {"type": "SAMPLE", "percent": percent, **extra}


def drop_properties(**fields: list[str]) -> dict[str, Any]:
    return {"type": "DROP_PROPERTIES", "fields": fields}


def allow_properties(**fields: list[str]) -> dict[str, Any]:
    return {"type": "ALLOW_PROPERTIES", "fields": fields}


# --- DROP ---------------------------------------------------------------------------------


def test_drop_stops_an_event_that_matches() -> None:
    assert apply_filters([a_filter("event = 'Order Completed'", DROP)], track()) is None


def test_drop_passes_an_event_that_does_not_match() -> None:
    assert apply_filters([a_filter("event = 'Signed Up'", DROP)], track()) == track()


def test_the_outcome_names_the_filter_and_action_that_stopped_the_event() -> None:
    outcome = run_filters(
        [compile_filter({"id": "no-eur", "if": "all", "actions": [DROP]})], track()
    )
    assert (outcome.event, outcome.dropped_by, outcome.action) == (None, "no-eur", ActionType.DROP)


def test_a_filter_for_all_drops_every_event() -> None:
    assert apply_filters([a_filter("all", DROP)], {"type": "identify"}) is None


def test_a_disabled_filter_is_skipped() -> None:
    assert apply_filters([a_filter("all", DROP, enabled=False)], track()) == track()


# --- SAMPLE -------------------------------------------------------------------------------


MESSAGE_IDS = [f"message-{i}" for i in range(2000)]
"""A fixed set of messageIds: where each falls in a sample never changes."""


def kept_ids(sampler: list[CompiledFilter], message_ids: list[str] = MESSAGE_IDS) -> set[str]:
    """The messageIds whose event the filters keep."""
    return {m for m in message_ids if apply_filters(sampler, track(m)) is not None}


@pytest.mark.parametrize(
    ("percent", "least", "most"),
    [(0, 0, 0), (0.1, 100, 300), (0.5, 900, 1100), (1, 2000, 2000)],
)
def test_sample_keeps_about_percent_of_2000_message_ids(
    percent: float, least: int, most: int
) -> None:
    assert least <= len(kept_ids([a_filter("all", sample(percent))])) <= most


def test_sample_decides_the_same_way_for_the_same_message_id() -> None:
    first = kept_ids([a_filter("all", sample(0.5))])
    second = kept_ids([a_filter("all", sample(0.5))])

    assert first == second
    assert 0 < len(first) < len(MESSAGE_IDS)


def test_sample_of_zero_drops_every_matching_event() -> None:
    outcome = run_filters([a_filter("all", sample(0))], track())
    assert (outcome.event, outcome.action) == (None, ActionType.SAMPLE)


def test_sample_leaves_events_that_do_not_match_alone() -> None:
    sampler = a_filter("type = 'identify'", sample(0))
    assert apply_filters([sampler], track()) == track()


@settings(max_examples=15, deadline=None)
@given(st.floats(min_value=0.05, max_value=0.95))
def test_sample_keeps_about_percent_of_events(percent: float) -> None:
    sampler = [a_filter("all", sample(percent))]
    ids = 4000
    kept = sum(apply_filters(sampler, track(f"id-{i}")) is not None for i in range(ids))
    assert abs(kept / ids - percent) < 0.035  # > 4 standard deviations at n = 4000


def test_a_smaller_sample_is_inside_a_larger_one() -> None:
    small = kept_ids([a_filter("all", sample(0.1))])
    large = kept_ids([a_filter("all", sample(0.2))])

    assert small
    assert small < large


def test_sample_on_a_path_decides_per_value_of_that_field() -> None:
    per_user = [a_filter("all", sample(0.5, path="userId"))]

    def kept(user: str, message_id: str) -> bool:
        return apply_filters(per_user, {**track(message_id), "userId": user}) is not None

    users = [f"user-{u}" for u in range(40)]
    decisions = {user: {kept(user, f"{user}-m{i}") for i in range(10)} for user in users}

    assert all(len(decided) == 1 for decided in decisions.values())  # a user's events alike
    assert set().union(*decisions.values()) == {True, False}  # some users in, some out


# --- DROP_PROPERTIES and ALLOW_PROPERTIES -------------------------------------------------


def test_drop_properties_removes_the_named_keys_of_each_named_object() -> None:
    result = apply_filters(
        [a_filter("all", drop_properties(properties=["email", "absent"], context=["ip"]))], track()
    )
    assert result is not None
    assert result["properties"] == {"total": 30, "currency": "EUR"}
    assert result["context"] == {"locale": "en-GB", "traits": {"email": "a@example.com"}}


def test_drop_properties_reaches_a_nested_object_by_dot_path() -> None:
    result = apply_filters(
        [a_filter("all", {"type": "DROP_PROPERTIES", "fields": {"context.traits": ["email"]}})],
        track(),
    )
    assert result is not None
    assert result["context"]["traits"] == {}
    assert result["context"]["ip"] == "10.0.0.1"


def test_property_actions_ignore_an_object_the_event_lacks() -> None:
    event = {"type": "identify", "traits": {"email": "x"}}
    result = apply_filters([a_filter("all", drop_properties(properties=["email"]))], event)
    assert result == event


def test_allow_properties_keeps_only_the_named_keys() -> None:
    result = apply_filters(
        [a_filter("all", allow_properties(properties=["total", "absent"]))], track()
    )
    assert result is not None
    assert result["properties"] == {"total": 30}


def test_allow_properties_leaves_other_objects_alone() -> None:
    result = apply_filters([a_filter("all", allow_properties(properties=["total"]))], track())
    assert result is not None
    assert result["context"] == track()["context"]
    assert result["userId"] == "u-1"


def test_allow_properties_with_no_keys_empties_the_object() -> None:
    result = apply_filters([a_filter("all", allow_properties(properties=[]))], track())
    assert result is not None
    assert result["properties"] == {}


def test_property_actions_apply_only_to_matching_events() -> None:
    dropper = a_filter("properties.currency = 'USD'", drop_properties(properties=["email"]))
    assert apply_filters([dropper], track()) == track()


# --- order and isolation ------------------------------------------------------------------


def test_sample_applies_before_drop_whatever_the_list_order() -> None:
    outcome = run_filters([a_filter("all", DROP, sample(0))], track())
    assert outcome.action is ActionType.SAMPLE


def test_sample_in_a_later_filter_applies_before_drop_in_an_earlier_one() -> None:
    dropper = compile_filter({"id": "dropper", "if": "all", "actions": [DROP]})
    sampler = compile_filter({"id": "sampler", "if": "all", "actions": [sample(0)]})
    outcome = run_filters([dropper, sampler], track())
    assert (outcome.dropped_by, outcome.action) == ("sampler", ActionType.SAMPLE)


def test_drop_applies_before_property_actions() -> None:
    assert (
        apply_filters([a_filter("all", allow_properties(properties=["total"]), DROP)], track())
        is None
    )


def test_allow_and_drop_properties_combine_on_one_object() -> None:
    combined = a_filter(
        "all",
        allow_properties(properties=["total", "email"]),
        drop_properties(properties=["email"]),
    )
    result = apply_filters([combined], track())
    assert result is not None
    assert result["properties"] == {"total": 30}


def test_every_condition_sees_the_event_as_it_arrived() -> None:
    strip_email = a_filter("all", drop_properties(properties=["email"]))
    drop_if_email = compile_filter({"id": "g", "if": "properties.email != null", "actions": [DROP]})
    assert apply_filters([strip_email, drop_if_email], track()) is None


def test_compiled_actions_list_in_application_order() -> None:
    f = a_filter(
        "all",
        allow_properties(properties=["a"]),
        drop_properties(properties=["b"]),
        DROP,
        sample(0.5),
    )
    assert [a.type for a in f.actions] == list(ActionType)


def test_the_input_event_is_never_changed() -> None:
    event = track()
    before = copy.deepcopy(event)
    filters = [
        a_filter("all", drop_properties(properties=["email"], **{"context.traits": ["email"]})),
        a_filter("all", allow_properties(context=["locale"])),
    ]
    result = apply_filters(filters, event)
    assert event == before
    assert result is not None and result is not event
    assert result["context"] == {"locale": "en-GB"}


def test_an_untouched_event_comes_back_as_a_new_equal_dict() -> None:
    event = track()
    result = apply_filters([a_filter("type = 'page'", DROP)], event)
    assert result == event and result is not event


def test_no_filters_pass_the_event_through() -> None:
    assert apply_filters([], track()) == track()


# --- validation ---------------------------------------------------------------------------


def test_a_complete_filter_compiles_with_its_fields() -> None:
    f = compile_filter(
        {
            "id": "pii",
            "title": "No PII",
            "description": "Strip email",
            "enabled": True,
            "if": "type = 'track'",
            "actions": [drop_properties(properties=["email"])],
        }
    )
    assert (f.id, f.title, f.description, f.enabled, f.source) == (
        "pii",
        "No PII",
        "Strip email",
        True,
        "type = 'track'",
    )
    assert f.matches(track())


def test_a_filter_is_enabled_unless_it_says_otherwise() -> None:
    assert compile_filter({"if": "all", "actions": [DROP]}).enabled


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"actions": [DROP]}, "if"),
        ({"if": 1, "actions": [DROP]}, "if"),
        ({"if": "all"}, "actions"),
        ({"if": "all", "actions": []}, "actions"),
        ({"if": "all", "actions": {"type": "DROP"}}, "actions"),
        ({"if": "all", "actions": [DROP], "when": "x"}, "when"),
        ({"if": "all", "actions": [DROP], "enabled": 1}, "enabled"),
        ({"if": "all", "actions": [DROP], "title": 5}, "title"),
        ({"if": "all", "actions": ["DROP"]}, "actions[0]"),
        ({"if": "all", "actions": [{"type": "DELETE"}]}, "actions[0].type"),
        ({"if": "all", "actions": [{"type": "drop"}]}, "actions[0].type"),
        ({"if": "all", "actions": [{}]}, "actions[0].type"),
        ({"if": "all", "actions": [DROP, {"type": "DROP", "percent": 1}]}, "actions[1].percent"),
        ({"if": "all", "actions": [DROP, DROP]}, "actions[1]"),
        ({"if": "all", "actions": [{"type": "SAMPLE"}]}, "actions[0].percent"),
        ({"if": "all", "actions": [sample(1.5)]}, "actions[0].percent"),
        ({"if": "all", "actions": [sample(-0.1)]}, "actions[0].percent"),
        ({"if": "all", "actions": [sample(50)]}, "actions[0].percent"),
        ({"if": "all", "actions": [{"type": "SAMPLE", "percent": "0.5"}]}, "actions[0].percent"),
        ({"if": "all", "actions": [{"type": "SAMPLE", "percent": True}]}, "actions[0].percent"),
        (
            {"if": "all", "actions": [{"type": "SAMPLE", "percent": float("nan")}]},
            "actions[0].percent",
        ),
        ({"if": "all", "actions": [sample(0.5, path="")]}, "actions[0].path"),
        ({"if": "all", "actions": [sample(0.5, path="a..b")]}, "actions[0].path"),
        ({"if": "all", "actions": [{"type": "DROP_PROPERTIES"}]}, "actions[0].fields"),
        (
            {"if": "all", "actions": [{"type": "DROP_PROPERTIES", "fields": {}}]},
            "actions[0].fields",
        ),
        (
            {"if": "all", "actions": [{"type": "DROP_PROPERTIES", "fields": ["email"]}]},
            "actions[0].fields",
        ),
        (
            {
                "if": "all",
                "actions": [{"type": "ALLOW_PROPERTIES", "fields": {"properties": "email"}}],
            },
            "actions[0].fields.properties",
        ),
        (
            {"if": "all", "actions": [{"type": "ALLOW_PROPERTIES", "fields": {"properties": [1]}}]},
            "actions[0].fields.properties",
        ),
        (
            {"if": "all", "actions": [{"type": "DROP_PROPERTIES", "fields": {"": ["a"]}}]},
            "actions[0].fields",
        ),
    ],
)
def test_an_invalid_filter_is_rejected_naming_the_field(spec: dict[str, Any], field: str) -> None:
    with pytest.raises(FilterError) as caught:
        compile_filter(spec)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


def test_a_filter_must_be_an_object() -> None:
    with pytest.raises(FilterError, match="must be an object"):
        compile_filter(["if", "all"])  # type: ignore[arg-type]


def test_invalid_fql_in_if_is_rejected_with_its_position() -> None:
    with pytest.raises(FilterError) as caught:
        compile_filter({"if": "type = 'track' and (", "actions": [DROP]})
    error = caught.value
    assert (error.field, error.position, error.line, error.column) == ("if", 20, 1, 21)
    assert "unexpected end of expression" in str(error)


def test_percent_out_of_range_says_it_is_a_fraction() -> None:
    with pytest.raises(FilterError, match="a fraction, not a percentage"):
        compile_filter({"if": "all", "actions": [sample(50)]})


def test_a_destination_has_at_most_ten_filters() -> None:
    assert MAX_FILTERS_PER_DESTINATION == 10
    specs = [{"id": f"f{i}", "if": "all", "actions": [DROP]} for i in range(10)]
    assert len(compile_filters(specs)) == 10
    with pytest.raises(FilterError, match="at most 10 filters"):
        compile_filters([*specs, {"id": "f10", "if": "all", "actions": [DROP]}])


def test_filter_ids_are_unique_within_a_destination() -> None:
    with pytest.raises(FilterError) as caught:
        compile_filters([{"id": "x", "if": "all", "actions": [DROP]}] * 2)
    assert caught.value.field == "filters[1].id"


def test_an_error_in_one_of_several_filters_names_it() -> None:
    specs = [{"if": "all", "actions": [DROP]}, {"if": "all", "actions": [sample(2)]}]
    with pytest.raises(FilterError) as caught:
        compile_filters(specs)
    assert caught.value.field == "filters[1].actions[0].percent"
