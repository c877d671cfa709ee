"""A destination filter: an FQL condition and the actions it applies, validated and compiled.

`compile_filter` turns the stored filter object into a CompiledFilter once; `run_filters`
then runs a destination's filters on each event.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from headrace.pipeline.filters.actions import (
    Action,
    ActionType,
    AllowProperties,
    Drop,
    DropProperties,
    Fields,
    Sample,
)
from headrace.pipeline.filters.fql import Condition, Event, FqlSyntaxError, compile_fql

MAX_FILTERS_PER_DESTINATION = 10
"""How many filters one destination may have."""

_FILTER_KEYS = frozenset({"id", "title", "description", "enabled", "if", "actions"})
_ACTION_KEYS = {
    ActionType.SAMPLE: frozenset({"type", "percent", "path"}),
    ActionType.DROP: frozenset({"type"}),
    ActionType.DROP_PROPERTIES: frozenset({"type", "fields"}),
    ActionType.ALLOW_PROPERTIES: frozenset({"type", "fields"}),
}


class FilterError(ValueError):
    """An invalid filter: `field` names the part at fault (`if`, `actions[1].percent`);
    for invalid FQL, `position` (0-based), `line` and `column` locate it in `if`."""

    def __init__(
        self,
        reason: str,
        field: str | None = None,
        *,
        position: int | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.reason = reason
        self.field = field
        self.position = position
        self.line = line
        self.column = column
        super().__init__(f"{field}: {reason}" if field else reason)


@dataclass(frozen=True, slots=True)
class CompiledFilter:
    """A validated filter, ready to run: at most one action of each type."""

    id: str
    title: str
    description: str
    enabled: bool
    source: str
    """The `if` as written."""
    condition: Condition
    sample: Sample | None = None
    drop: Drop | None = None
    drop_properties: DropProperties | None = None
    allow_properties: AllowProperties | None = None

    @property
    def actions(self) -> tuple[Action, ...]:
        """The actions, in the order they apply."""
        ordered = (self.sample, self.drop, self.drop_properties, self.allow_properties)
        return tuple(action for action in ordered if action is not None)

    def matches(self, event: Event) -> bool:
        return self.condition(event)


@dataclass(frozen=True, slots=True)
class FilterOutcome:
    """What a destination's filters made of one event: the event to deliver (a new dict),
    or None with the filter and action that stopped it."""

    event: dict[str, Any] | None
    dropped_by: str | None = None
    """The id of the filter that sampled out or dropped the event."""
    action: ActionType | None = None
    """SAMPLE or DROP, when the event was stopped."""


def run_filters(filters: Sequence[CompiledFilter], event: Event) -> FilterOutcome:
    """Run a destination's filters on an event; the input is never changed.

    Every enabled filter's condition sees the event as it arrived. The actions of the
    matching filters then apply by type, in Segment's order: SAMPLE, DROP,
    DROP_PROPERTIES, ALLOW_PROPERTIES (within one type, in the filters' order).
    """
    matched = [f for f in filters if f.enabled and f.condition(event)]
    for f in matched:
        if f.sample is not None and not f.sample.keeps(event):
            return FilterOutcome(None, f.id, ActionType.SAMPLE)
    for f in matched:
        if f.drop is not None:
            return FilterOutcome(None, f.id, ActionType.DROP)
    result = dict(event)
    for f in matched:
        if f.drop_properties is not None:
            f.drop_properties.apply(result)
    for f in matched:
        if f.allow_properties is not None:
            f.allow_properties.apply(result)
    return FilterOutcome(result)


def apply_filters(filters: Sequence[CompiledFilter], event: Event) -> dict[str, Any] | None:
    """The event after a destination's filters (a new dict), or None when they drop it."""
    return run_filters(filters, event).event


# --- validation ---------------------------------------------------------------------------


def compile_filters(specs: Sequence[Mapping[str, Any]]) -> tuple[CompiledFilter, ...]:
    """Validate and compile a destination's filters: at most ten, ids unique."""
    if len(specs) > MAX_FILTERS_PER_DESTINATION:
        raise FilterError(
            f"a destination has at most {MAX_FILTERS_PER_DESTINATION} filters, got {len(specs)}"
        )
    compiled: list[CompiledFilter] = []
    seen: set[str] = set()
    for index, spec in enumerate(specs):
        try:
            one = compile_filter(spec)
        except FilterError as error:
            field = f"filters[{index}]" + (f".{error.field}" if error.field else "")
            raise FilterError(
                error.reason,
                field,
                position=error.position,
                line=error.line,
                column=error.column,
            ) from error
        if one.id and one.id in seen:
            raise FilterError(f"duplicate filter id {one.id!r}", f"filters[{index}].id")
        seen.add(one.id)
        compiled.append(one)
    return tuple(compiled)


def compile_filter(spec: Mapping[str, Any]) -> CompiledFilter:
    """Validate a filter object and compile it; raises FilterError naming the bad field.

    The object is `{id, title, description, enabled, if, actions}`; `if` and `actions`
    are required, `enabled` defaults to true.
    """
    if not isinstance(spec, Mapping):
        raise FilterError("a filter must be an object")
    unknown = sorted(set(spec) - _FILTER_KEYS)
    if unknown:
        raise FilterError("unknown field", str(unknown[0]))
    identifier = _optional_string(spec, "id")
    title = _optional_string(spec, "title")
    description = _optional_string(spec, "description")
    enabled = spec.get("enabled", True)
    if type(enabled) is not bool:
        raise FilterError("must be true or false", "enabled")

    source = spec.get("if")
    if not isinstance(source, str):
        raise FilterError("required: an FQL expression, or 'all'", "if")
    try:
        condition = compile_fql(source)
    except FqlSyntaxError as error:
        raise FilterError(
            str(error), "if", position=error.position, line=error.line, column=error.column
        ) from error

    actions = spec.get("actions")
    if not isinstance(actions, list) or not actions:
        raise FilterError("required: a list of at least one action", "actions")
    by_type: dict[ActionType, Action] = {}
    for index, raw in enumerate(actions):
        action = _action(raw, f"actions[{index}]")
        if action.type in by_type:
            raise FilterError(f"a filter has at most one {action.type} action", f"actions[{index}]")
        by_type[action.type] = action

    sample = by_type.get(ActionType.SAMPLE)
    drop = by_type.get(ActionType.DROP)
    drop_properties = by_type.get(ActionType.DROP_PROPERTIES)
    allow_properties = by_type.get(ActionType.ALLOW_PROPERTIES)
    return CompiledFilter(
        id=identifier,
        title=title,
        description=description,
        enabled=enabled,
        source=source,
        condition=condition,
        sample=sample if isinstance(sample, Sample) else None,
        drop=drop if isinstance(drop, Drop) else None,
        drop_properties=drop_properties if isinstance(drop_properties, DropProperties) else None,
        allow_properties=(
            allow_properties if isinstance(allow_properties, AllowProperties) else None
        ),
    )


def _optional_string(spec: Mapping[str, Any], key: str) -> str:
    value = spec.get(key, "")
    if not isinstance(value, str):
        raise FilterError("must be a string", key)
    return value


def _action(raw: Any, where: str) -> Action:
    if not isinstance(raw, Mapping):
        raise FilterError("an action must be an object", where)
    kind = raw.get("type")
    if kind not in _ACTION_KEYS:
        known = ", ".join(t.value for t in ActionType)
        raise FilterError(f"unknown action type {kind!r}; use one of {known}", f"{where}.type")
    action_type = ActionType(kind)
    unknown = sorted(set(raw) - _ACTION_KEYS[action_type])
    if unknown:
        raise FilterError(f"unknown field for a {action_type} action", f"{where}.{unknown[0]}")
    if action_type is ActionType.SAMPLE:
        return Sample(_percent(raw.get("percent"), f"{where}.percent"), _sample_path(raw, where))
    if action_type is ActionType.DROP:
        return Drop()
    fields = _fields(raw.get("fields"), f"{where}.fields")
    if action_type is ActionType.DROP_PROPERTIES:
        return DropProperties(fields)
    return AllowProperties(fields)


def _percent(value: Any, where: str) -> float:
    if not (type(value) is int or type(value) is float) or not math.isfinite(value):
        raise FilterError("required: a number from 0 to 1", where)
    if not 0 <= value <= 1:
        raise FilterError(f"must be from 0 to 1 (a fraction, not a percentage), got {value}", where)
    return float(value)


def _sample_path(raw: Mapping[str, Any], where: str) -> tuple[str, ...]:
    path = raw.get("path", "messageId")
    keys = tuple(path.split(".")) if isinstance(path, str) else ()
    if not keys or not all(keys):
        raise FilterError("must be a dot path such as 'messageId' or 'userId'", f"{where}.path")
    return keys


def _fields(value: Any, where: str) -> Fields:
    if not isinstance(value, Mapping) or not value:
        raise FilterError(
            'required: an object of key lists, such as {"properties": ["email"]}', where
        )
    fields: list[tuple[tuple[str, ...], frozenset[str]]] = []
    for name, keys in value.items():
        path = tuple(name.split(".")) if isinstance(name, str) else ()
        if not path or not all(path):
            raise FilterError(f"{name!r} is not an object name such as 'properties'", where)
        if not isinstance(keys, list) or not all(isinstance(k, str) and k for k in keys):
            raise FilterError("must be a list of key names", f"{where}.{name}")
        fields.append((path, frozenset(keys)))
    return tuple(fields)
