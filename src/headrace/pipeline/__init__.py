"""Route, filter, insert, deliver and retry: events from the queue to their destinations."""

from headrace.pipeline.catalog import CachedCatalog, Catalog, DestinationPlan, FunctionInstancePlan
from headrace.pipeline.deliver import DEFAULT_LEASE_S, QUEUE_DELIVER, Deliverer
from headrace.pipeline.retry import RetryPolicy
from headrace.pipeline.router import QUEUE_ROUTE, Router
from headrace.pipeline.worker import PipelineWorkers

__all__ = [
    "DEFAULT_LEASE_S",
    "QUEUE_DELIVER",
    "QUEUE_ROUTE",
    "CachedCatalog",
    "Catalog",
    "Deliverer",
    "DestinationPlan",
    "FunctionInstancePlan",
    "PipelineWorkers",
    "RetryPolicy",
    "Router",
]
