"""Destination filters: FQL conditions and the actions (sample, drop, drop or allow
properties) a destination applies to the events that match them."""

from headrace.pipeline.filters.actions import (
    Action,
    ActionType,
    AllowProperties,
    Drop,
    DropProperties,
    Sample,
)
from headrace.pipeline.filters.destination_filter import (
    MAX_FILTERS_PER_DESTINATION,
    CompiledFilter,
    FilterError,
    FilterOutcome,
    apply_filters,
    compile_filter,
    compile_filters,
    run_filters,
)
from headrace.pipeline.filters.fql import MATCH_ALL, Condition, FqlSyntaxError, compile_fql

__all__ = [
    "MATCH_ALL",
    "MAX_FILTERS_PER_DESTINATION",
    "Action",
    "ActionType",
    "AllowProperties",
    "CompiledFilter",
    "Condition",
    "Drop",
    "DropProperties",
    "FilterError",
    "FilterOutcome",
    "FqlSyntaxError",
    "Sample",
    "apply_filters",
    "compile_filter",
    "compile_filters",
    "compile_fql",
    "run_filters",
]
