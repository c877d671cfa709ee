"""The `integrations` object of an event: which destinations it may go to."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def selects(integrations: Any, names: Iterable[str]) -> bool:
    """Whether an event with this `integrations` object goes to a destination known by `names`.

    A destination named explicitly follows its entry (`false` excludes it; `true` or an
    options object includes it); otherwise `"All"` decides, and it defaults to true.
    Names are case-sensitive, as in Segment.
    """
    if not isinstance(integrations, dict):
        return True
    for name in names:
        if name in integrations:
            return integrations[name] is not False
    return integrations.get("All", True) is not False
