"""The OS lockdown of a worker: rlimits, an unprivileged uid, Landlock, seccomp, no environment.

The zygote prepares the Landlock ruleset and the seccomp filter once (`LockdownPlan`); each
forked worker applies them before any user code loads. A feature the machine lacks is
skipped and reported, never silently assumed.
"""

from __future__ import annotations

import errno
import os
import resource
import sys
from dataclasses import dataclass, field
from typing import Any

WORKER_UID_BASE = 1_500_000_000
"""When the service runs as root, worker slot N runs as uid/gid WORKER_UID_BASE + N."""

DEFAULT_MEMORY_BYTES = 256 * 1024 * 1024
DEFAULT_CPU_SECONDS = 300
"""RLIMIT_CPU backstop; the parent's deadline is what normally stops a runaway call."""

MAX_OPEN_FILES = 64

# Read-only places a worker may still read (lazy imports, time zone data).
_DATA_PATHS = ("/usr/share/zoneinfo",)

# Syscalls any Python worker needs once it is running, with no way out of the process.
_ALLOWED_SYSCALLS = (
    "read", "readv", "pread64", "write", "writev", "close", "lseek",
    "fstat", "newfstatat", "statx", "stat", "lstat", "fstatfs", "access", "faccessat",
    "faccessat2", "getdents64", "readlink", "readlinkat", "getcwd", "fcntl", "dup",
    "mmap", "munmap", "mprotect", "mremap", "madvise", "brk",
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "restart_syscall",
    "futex", "getrandom", "clock_gettime", "clock_getres", "gettimeofday", "time",
    "nanosleep", "clock_nanosleep", "sched_yield", "sched_getaffinity",
    "getpid", "gettid", "getppid", "getuid", "geteuid", "getgid", "getegid", "getgroups",
    "getrusage", "times", "uname", "sysinfo", "rseq", "set_robust_list",
    "exit", "exit_group",
    "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2",
    "poll", "ppoll", "select", "pselect6",
    "recvfrom", "recvmsg", "sendto", "sendmsg", "getsockopt", "getsockname", "getpeername",
)  # fmt: skip

_OPEN_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


@dataclass(frozen=True)
class Limits:
    memory_bytes: int = DEFAULT_MEMORY_BYTES
    cpu_seconds: int = DEFAULT_CPU_SECONDS


@dataclass
class LockdownPlan:
    """What the zygote could prepare, and why anything is missing."""

    landlock: Any = None
    seccomp: Any = None
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def keep_fds(self) -> set[int]:
        fd = getattr(self.landlock, "_fd", None)
        return {fd} if isinstance(fd, int) else set()


def prepare() -> LockdownPlan:
    plan = LockdownPlan()
    plan.landlock = _prepare_landlock(plan.notes)
    plan.seccomp = _prepare_seccomp(plan.notes, allow_read_only_open=plan.landlock is not None)
    return plan


def _readable_roots() -> list[str]:
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, *_DATA_PATHS}
    roots.update(p for p in sys.path if p and os.path.isdir(p))
    return sorted(r for r in roots if os.path.isdir(r) and os.path.abspath(r) != "/")


def _prepare_landlock(notes: dict[str, str]) -> Any:
    if not sys.platform.startswith("linux"):
        notes["landlock"] = "unavailable: not Linux"
        return None
    try:
        import landlock
        from landlock import FSAccess

        abi = landlock.landlock_abi_version()
        ruleset = landlock.Ruleset()
        readable = []
        for root in _readable_roots():
            try:
                ruleset.allow(root, rules=FSAccess.READ_FILE | FSAccess.READ_DIR)
                readable.append(root)
            except OSError:
                continue
    except Exception as exc:  # noqa: BLE001 - any failure means "not available here"
        notes["landlock"] = f"unavailable: {exc}"
        return None
    notes["landlock"] = f"active (ABI {abi}): read-only access to the interpreter's files"
    return ruleset


def _prepare_seccomp(notes: dict[str, str], *, allow_read_only_open: bool) -> Any:
    if not sys.platform.startswith("linux"):
        notes["seccomp"] = "unavailable: not Linux"
        return None
    try:
        import pyseccomp as sc

        rules = sc.SyscallFilter(sc.ERRNO(errno.EPERM))
        for name in _ALLOWED_SYSCALLS:
            try:
                rules.add_rule(sc.ALLOW, name)
            except (ValueError, OSError):
                continue  # a syscall this architecture does not have
        # getrlimit is prlimit64 with no new limit; setting limits stays refused.
        rules.add_rule(sc.ALLOW, "prlimit64", sc.Arg(2, sc.EQ, 0))
        if allow_read_only_open:
            # Landlock decides which paths; seccomp only refuses writing or creating.
            rules.add_rule(sc.ALLOW, "openat", sc.Arg(2, sc.MASKED_EQ, _OPEN_WRITE_FLAGS, 0))
            rules.add_rule(sc.ALLOW, "open", sc.Arg(1, sc.MASKED_EQ, _OPEN_WRITE_FLAGS, 0))
    except Exception as exc:  # noqa: BLE001 - libseccomp missing or refusing
        notes["seccomp"] = f"unavailable: {exc}"
        return None
    opens = "read-only opens" if allow_read_only_open else "no file opens"
    notes["seccomp"] = f"active: syscall allowlist ({opens}; no sockets, processes or signals)"
    return rules


def apply(plan: LockdownPlan, slot: int, limits: Limits) -> dict[str, str]:
    """Lock the calling (freshly forked) process down; return what is in force."""
    report = dict(plan.notes)
    _set_rlimits(limits)
    report["rlimits"] = (
        f"active: {limits.memory_bytes // (1024 * 1024)} MiB address space, "
        f"{limits.cpu_seconds} s CPU, no file writes, {MAX_OPEN_FILES} open files"
    )
    report["uid"] = _drop_privileges(slot)
    os.environ.clear()
    report["environment"] = "empty"
    if plan.landlock is not None:
        plan.landlock.apply()
    if plan.seccomp is not None:
        plan.seccomp.load()
    report["network"] = "none: fetch goes through the parent, which applies the egress policy"
    return report


def _set_rlimits(limits: Limits) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (MAX_OPEN_FILES, MAX_OPEN_FILES))
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))


def _drop_privileges(slot: int) -> str:
    if os.geteuid() != 0:
        return (
            f"shared: runs as the service's uid {os.geteuid()} (start as root for one uid per slot)"
        )
    uid = WORKER_UID_BASE + slot
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    return f"active: unprivileged uid {uid} for this worker slot"
