"""Load and invoke user functions in sandboxed worker processes.

Knows nothing of destinations, sources or HTTP routes: callers hand it code, a kind,
a payload and settings, and get an outcome back.
"""

from headrace.runtime.egress import EgressPolicy, EgressRefused
from headrace.runtime.outcomes import Outcome
from headrace.runtime.pool import SandboxPool, SandboxUnavailable
from headrace.runtime.validation import CodeProblem, FunctionKind, check_code
from headrace.runtime.worker_handle import DEFAULT_TIMEOUT_S, MAX_TIMEOUT_S, FunctionSpec


def describe_isolation(pool: SandboxPool | None = None) -> dict[str, str]:
    """What the sandbox enforces on this machine, reported by a freshly started worker."""
    if pool is not None:
        return pool.isolation()
    with SandboxPool() as own:
        return own.isolation()


__all__ = [
    "DEFAULT_TIMEOUT_S",
    "MAX_TIMEOUT_S",
    "CodeProblem",
    "EgressPolicy",
    "EgressRefused",
    "FunctionKind",
    "FunctionSpec",
    "Outcome",
    "SandboxPool",
    "SandboxUnavailable",
    "check_code",
    "describe_isolation",
]
