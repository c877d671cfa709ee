"""The integrations object selects destinations by name."""

from __future__ import annotations

from typing import Any

import pytest

from headrace.pipeline.integrations import selects

NAMES = frozenset({"Warehouse", "Orders API (acme)"})


@pytest.mark.parametrize(
    ("integrations", "expected"),
    [
        (None, True),
        ({}, True),
        ({"All": False}, False),
        ({"All": False, "Warehouse": True}, True),
        ({"All": False, "Orders API (acme)": True}, True),
        ({"All": True, "Warehouse": False}, False),
        ({"Warehouse": False}, False),
        ({"All": False, "Warehouse": {"option": 1}}, True),
        ({"All": False, "warehouse": True}, False),
        ("not an object", True),
    ],
)
def test_selection(integrations: Any, expected: bool) -> None:
    assert selects(integrations, NAMES) is expected
