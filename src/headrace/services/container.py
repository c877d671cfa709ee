"""The running service: the store and the use cases, started and stopped as one."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from headrace.config import Settings
from headrace.log import get_logger
from headrace.pipeline import (
    CachedCatalog,
    Deliverer,
    PipelineWorkers,
    RetryPolicy,
    Router,
    SourceRetryPolicy,
    SourceRunner,
)
from headrace.pipeline.deliver import DEFAULT_LEASE_S, STOP_GRACE_S
from headrace.pipeline.maintenance import Maintenance
from headrace.pipeline.webhook import WEBHOOK_CONCURRENCY, WebhookSender
from headrace.runtime import EgressPolicy, SandboxPool
from headrace.runtime.egress import Fetcher
from headrace.security.secrets import SecretBox, load_secret_key
from headrace.services.access import AccessService
from headrace.services.audit import AuditService
from headrace.services.delivery_health import DeliveryHealthService
from headrace.services.destination_delivery import DestinationDeliveryService
from headrace.services.destination_filters import DestinationFilterService
from headrace.services.destinations import DestinationService, InsertFunctionInstanceService
from headrace.services.functions import FunctionService
from headrace.services.health import HealthService
from headrace.services.ingest import IngestService
from headrace.services.invocation import InvocationService
from headrace.services.members import MemberService
from headrace.services.preview import PreviewService
from headrace.services.source_catalog import StoreSourceCatalog
from headrace.services.sources import SourceService
from headrace.services.usage import UsageService
from headrace.services.webhooks import WebhookLoopGuard, WebhookService
from headrace.services.workspaces import WorkspaceService
from headrace.store import open_engine, session_factory

_log = get_logger("service")


class Services:
    """Everything the API calls into, built on one engine.

    `start` and `stop` bracket the life of the process: the pipeline workers (ingest,
    delivery, retry) are started in `start` and drained in `stop`. `headrace serve` runs
    the HTTP API without them and the pipeline in a `headrace worker` child process.
    """

    def __init__(
        self,
        settings: Settings,
        engine: Engine | None = None,
        *,
        pipeline: bool = True,
        wake_elsewhere: Callable[[], None] | None = None,
    ) -> None:
        """Built on `engine` (default: one opened from `settings`), which `stop` disposes.

        With `pipeline` (the default) `start` also starts the router and delivery workers;
        without it, `wake_elsewhere` tells a pipeline in another process that work was
        queued.
        """
        self.settings = settings
        self.engine = engine if engine is not None else open_engine(settings.effective_database_url)
        self.sessions: sessionmaker[Session] = session_factory(self.engine)
        self.workspaces = WorkspaceService(self.sessions)
        self.access = AccessService(self.sessions)
        self.health = HealthService(self.engine)
        self._lock = threading.Lock()
        self._secret_box: SecretBox | None = None
        self._pool: SandboxPool | None = None
        self.usage = UsageService(self.engine, self.sessions)
        self.audit = AuditService(self.sessions)
        self.members = MemberService(self.sessions)
        self.functions = FunctionService(self.sessions, self.secret_box)
        self.sources = SourceService(
            self.sessions, self.secret_box, public_url=settings.effective_public_url
        )
        self.destinations = DestinationService(self.sessions, self.secret_box)
        self.insert_functions = InsertFunctionInstanceService(self.sessions, self.secret_box)
        self.filters = DestinationFilterService(self.sessions)
        self.preview = PreviewService(self.sessions, self.sandbox, self.usage)
        self.invocations = InvocationService(self.sessions, self.secret_box)
        """What the pipeline runs: instances with their pinned code and decrypted settings."""
        self.delivery_health = DeliveryHealthService(self.sessions, self.secret_box)
        self.deliveries = DestinationDeliveryService(
            self.sessions, self.secret_box, self.invocations.destination, self.wake_pipeline
        )
        self._run_pipeline = pipeline
        self._wake_elsewhere = wake_elsewhere
        self._workers: PipelineWorkers | None = None
        self._deliverer: Deliverer | None = None
        self._source_runner: SourceRunner | None = None
        self._source_fetcher: Fetcher | None = None
        self.webhooks = WebhookService(
            self.engine,
            self.sources.find_webhook_source,
            public_url=settings.effective_public_url,
            on_accepted=self.wake_pipeline,
        )
        self._webhooks: WebhookSender | None = None
        self.catalog = CachedCatalog(self.invocations)
        """Where events go, remembered for a moment: read per ingest request and per job."""
        self.ingest = IngestService(
            self.engine,
            self.sources.find_tracking_source,
            self.catalog,
            on_accepted=self.wake_pipeline,
        )

    def secret_box(self) -> SecretBox:
        """The key for sensitive settings, read (or generated) on first use."""
        with self._lock:
            if self._secret_box is None:
                self._secret_box = SecretBox(load_secret_key(self.settings))
            return self._secret_box

    def sandbox(self) -> SandboxPool:
        """The sandbox pool for previews, started on first use with the egress policy."""
        with self._lock:
            if self._pool is None:
                self._pool = SandboxPool(self.egress_policy())
            return self._pool

    def egress_policy(self) -> EgressPolicy:
        """The operator's egress policy, refusing this service's own webhook URLs (a
        function or webhook must not feed events back into a source)."""
        policy = EgressPolicy.allowing(self.settings.egress_allow)
        guard = WebhookLoopGuard(self.settings, self.sources.is_webhook_token)
        return EgressPolicy(policy.hosts, policy.networks, refuse_url=guard)

    def source_retry_policy(self) -> SourceRetryPolicy:
        defaults = SourceRetryPolicy()
        s = self.settings
        return SourceRetryPolicy(
            max_attempts=s.source_retry_attempts or defaults.max_attempts,
            first_min_s=s.source_retry_first_min_s or defaults.first_min_s,
            first_max_s=s.source_retry_first_max_s or defaults.first_max_s,
            cap_s=s.source_retry_cap_s or defaults.cap_s,
        )

    def retry_policy(self) -> RetryPolicy:
        defaults = RetryPolicy()
        s = self.settings
        return RetryPolicy(
            window_s=s.retry_window_s or defaults.window_s,
            base_s=s.retry_base_s or defaults.base_s,
            cap_s=s.retry_cap_s or defaults.cap_s,
        )

    def start(self) -> None:
        if self._run_pipeline:
            self._start_pipeline()
        _log.info("service started")

    def _start_pipeline(self) -> None:
        lease_s = self.settings.lease_s or DEFAULT_LEASE_S
        catalog = self.catalog
        webhooks = WebhookSender(
            self.egress_policy(),
            concurrency=self.settings.webhook_concurrency or WEBHOOK_CONCURRENCY,
        )
        self._webhooks = webhooks
        router = Router(self.engine, catalog, lease_s=lease_s, on_routed=self.wake_pipeline)
        steps: dict[str, Callable[[], int]] = {
            "router": router.run_once,
            "maintenance": Maintenance(self.engine).run_once,
        }
        deliverer = Deliverer(
            self.engine,
            catalog,
            self.sandbox(),
            webhooks,
            policy=self.retry_policy(),
            lease_s=lease_s,
            groups_each=self.settings.delivery_workers,
        )
        self._deliverer = deliverer
        steps["deliver"] = deliverer.run_once
        self._source_fetcher = Fetcher(self.egress_policy())
        self._source_runner = SourceRunner(
            self.engine,
            StoreSourceCatalog(self.sessions, self.invocations),
            self.sandbox(),
            self._source_fetcher,
            policy=self.source_retry_policy(),
            lease_s=lease_s,
            on_emitted=self.wake_pipeline,
        )
        steps["source"] = self._source_runner.run_once
        self._workers = PipelineWorkers(steps)
        self._workers.start()

    def wake_pipeline(self) -> None:
        """Work was queued: the pipeline looks at once rather than at its next poll."""
        if self._workers is not None:
            self._workers.wake()
        elif self._wake_elsewhere is not None:
            self._wake_elsewhere()

    def stop(self) -> None:
        # The pipeline drains first: jobs in flight finish (or their leases run out).
        workers, self._workers = self._workers, None
        if workers is not None:
            workers.stop()
        # Groups still in flight after STOP_GRACE_S (a destination that hangs) have their
        # webhook requests cut short: they are settled as retrying, not waited for.
        deliverer, self._deliverer = self._deliverer, None
        if deliverer is not None:
            deliverer.wait_for_groups(STOP_GRACE_S)
        if self._webhooks is not None:
            self._webhooks.stop()
        if deliverer is not None:
            deliverer.close()
        if self._source_runner is not None:
            self._source_runner.close()
            self._source_runner = None
        if self._source_fetcher is not None:
            self._source_fetcher.close()
            self._source_fetcher = None
        if self._webhooks is not None:
            self._webhooks.close()
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()
        self.engine.dispose()
        _log.info("service stopped")
