"""Route, filter, insert, deliver and retry: events from the queue to their destinations;
and source functions, which turn stored webhook requests into events."""

from headrace.pipeline.catalog import CachedCatalog, Catalog, DestinationPlan, FunctionInstancePlan
from headrace.pipeline.deliver import (
    DEFAULT_LEASE_S,
    QUEUE_BATCH,
    QUEUE_DELIVER,
    Deliverer,
    queue_for,
)
from headrace.pipeline.retry import RetryPolicy, SourceRetryPolicy
from headrace.pipeline.router import QUEUE_ROUTE, Router
from headrace.pipeline.source_requests import (
    QUEUE_SOURCE,
    FunctionSourcePlan,
    SourceCatalog,
    SourceRunner,
)
from headrace.pipeline.worker import PipelineWorkers

__all__ = [
    "DEFAULT_LEASE_S",
    "QUEUE_BATCH",
    "QUEUE_DELIVER",
    "QUEUE_ROUTE",
    "QUEUE_SOURCE",
    "CachedCatalog",
    "Catalog",
    "Deliverer",
    "DestinationPlan",
    "FunctionInstancePlan",
    "FunctionSourcePlan",
    "PipelineWorkers",
    "RetryPolicy",
    "Router",
    "SourceCatalog",
    "SourceRetryPolicy",
    "SourceRunner",
    "queue_for",
]
