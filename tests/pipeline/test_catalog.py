"""The cached catalog: routing asks the store once per destination per TTL, not per event."""

from __future__ import annotations

import time
from collections.abc import Sequence

from headrace.pipeline import CachedCatalog, DestinationPlan
from tests.pipeline.conftest import StaticCatalog


class CountingCatalog(StaticCatalog):
    asked: int = 0

    def destinations_of_source(self, source_id: str) -> Sequence[DestinationPlan]:
        self.asked += 1
        return super().destinations_of_source(source_id)


def test_answers_are_reused_within_the_ttl_and_refreshed_after_it() -> None:
    inner = CountingCatalog()
    inner.add("src_1", DestinationPlan("dst_1", "ws_1", "A", "WEBHOOK", True, frozenset({"A"})))
    cached = CachedCatalog(inner, ttl_s=0.2)

    first = [cached.destinations_of_source("src_1") for _ in range(50)]
    time.sleep(0.3)
    cached.destinations_of_source("src_1")

    assert [p.id for p in first[-1]] == ["dst_1"]
    assert inner.asked == 2
