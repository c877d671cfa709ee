"""What a destination filter does to a matching event: sample, drop, drop or allow properties.

Whatever order a filter lists them in, actions apply as Segment applies them: every
SAMPLE, then every DROP, then every DROP_PROPERTIES, then every ALLOW_PROPERTIES.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

import orjson

DEFAULT_SAMPLE_PATH = ("messageId",)
"""The field whose value decides, consistently, whether an event is in a sample."""

_HASH_SCALE = 2.0**64  # the first 8 bytes of the digest, as a fraction of 2**64


class ActionType(StrEnum):
    """The kinds of action, in the order they apply."""

    SAMPLE = "SAMPLE"
    DROP = "DROP"
    DROP_PROPERTIES = "DROP_PROPERTIES"
    ALLOW_PROPERTIES = "ALLOW_PROPERTIES"


def sample_point(value: Any) -> float:
    """Where a value falls in [0, 1): the MD5 of its JSON, as Segment's sampler hashes it.

    Deterministic across processes and releases (unlike Python's `hash()`), so an event
    is in or out of a sample wherever and however often it is filtered.
    """
    try:
        encoded = orjson.dumps(value)
    except TypeError:  # not JSON (an int beyond 64 bits, say): its text still hashes stably
        encoded = repr(value).encode()
    digest = hashlib.md5(encoded, usedforsecurity=False).digest()
    return int.from_bytes(digest[:8], "big") / _HASH_SCALE


@dataclass(frozen=True, slots=True)
class Sample:
    """Keep `percent` (0..1) of matching events, chosen by the hash of the field at `path`.

    Events without the field all hash alike (as `null`), so they are all kept or all
    dropped. Every filter and destination that samples on the same field keeps nested
    subsets: a 10% sample is inside a 20% one.
    """

    percent: float
    path: tuple[str, ...] = DEFAULT_SAMPLE_PATH

    type: ClassVar[ActionType] = ActionType.SAMPLE

    def keeps(self, event: Mapping[str, Any]) -> bool:
        if self.percent >= 1:
            return True
        if self.percent <= 0:
            return False
        value: Any = event
        for key in self.path:
            value = value.get(key) if isinstance(value, Mapping) else None
        return sample_point(value) < self.percent


@dataclass(frozen=True, slots=True)
class Drop:
    """Drop matching events: they are recorded as filtered and go no further."""

    type: ClassVar[ActionType] = ActionType.DROP


Fields = tuple[tuple[tuple[str, ...], frozenset[str]], ...]
"""(path of an object in the event, names of keys in it) pairs."""


@dataclass(frozen=True, slots=True)
class DropProperties:
    """Remove the named keys from each named object (`properties`, `context`, `traits`…)."""

    fields: Fields

    type: ClassVar[ActionType] = ActionType.DROP_PROPERTIES

    def apply(self, event: dict[str, Any]) -> None:
        """Edit `event` (a copy the caller owns), copying each nested object it changes."""
        for path, names in self.fields:
            _edit_object(event, path, names, keep=False)


@dataclass(frozen=True, slots=True)
class AllowProperties:
    """Keep only the named keys of each named object; other objects are left alone."""

    fields: Fields

    type: ClassVar[ActionType] = ActionType.ALLOW_PROPERTIES

    def apply(self, event: dict[str, Any]) -> None:
        """Edit `event` (a copy the caller owns), copying each nested object it changes."""
        for path, names in self.fields:
            _edit_object(event, path, names, keep=True)


Action = Sample | Drop | DropProperties | AllowProperties


def _edit_object(
    root: dict[str, Any], path: tuple[str, ...], names: frozenset[str], *, keep: bool
) -> None:
    """Replace the object at `path` with a copy that keeps (or drops) the keys `names`,
    copying the objects above it so that nothing the caller's input shares is changed.
    A path that does not lead to an object is left alone."""
    parent = root
    for key in path[:-1]:
        child = parent.get(key)
        if not isinstance(child, dict):
            return
        child = dict(child)
        parent[key] = child
        parent = child
    target = parent.get(path[-1])
    if isinstance(target, dict):
        parent[path[-1]] = {k: v for k, v in target.items() if (k in names) is keep}
