"""Hostile functions: each attempt fails cleanly with a category, the instance keeps serving,
and the host is untouched.

The import allowlist is not the boundary, so every attack here first escapes it (see
`ESCAPE`) and meets the OS lockdown: Landlock, seccomp, rlimits, an empty environment.
"""

from __future__ import annotations

import os
import platform
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from headrace.runtime import FunctionKind, SandboxPool
from tests.runtime.conftest import MakeInstance
from tests.runtime.support import ESCAPE, event, function_code

Outcome = dict[str, Any]
Attack = Callable[..., tuple[Outcome, Outcome]]

STILL_SERVING = """
calls = 0


def on_identify(event, settings):
    global calls
    calls += 1
    return {"calls": calls, "pid": _escape_import("os").getpid()}
"""


@pytest.fixture
def attack(pool: SandboxPool, instance: MakeInstance, full_lockdown: dict[str, str]) -> Attack:
    """`attack(body, settings)` runs `body` as on_track of a fresh instance (after one warm-up
    call), then calls the same instance again; returns both outcomes."""

    def run(body: str, settings: Any = None, **spec_fields: Any) -> tuple[Outcome, Outcome]:
        handler = "def on_track(event, settings):\n" + textwrap.indent(
            textwrap.dedent(body).strip("\n"), "    "
        )
        spec = instance(ESCAPE + STILL_SERVING + "\n\n" + handler + "\n", **spec_fields)
        warm = pool.invoke(spec, "event", event("identify"))
        assert warm["ok"], warm["error"]
        outcome = pool.invoke(spec, "event", event("track"), settings)
        after = pool.invoke(spec, "event", event("identify"))
        assert after["ok"], after["error"]
        after["replaced"] = after["result"]["pid"] != warm["result"]["pid"]
        return outcome, after

    return run


def assert_refused(outcome: Outcome, error_type: str, message: str = "") -> None:
    assert not outcome["ok"]
    assert outcome["result"] is None
    assert outcome["error"]["type"] == error_type
    assert outcome["error"]["category"] == "bad_request"
    assert message in outcome["error"]["message"]


# -- files ----------------------------------------------------------------------------------


def test_open_is_not_a_builtin(attack: Attack) -> None:
    outcome, after = attack("return open('/etc/passwd').read()")
    assert_refused(outcome, "NameError", "name 'open' is not defined")
    assert after["result"]["calls"] == 2


def test_reading_a_host_file_through_os_open_is_denied(attack: Attack, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("host secret")
    outcome, after = attack(
        "os_open = _os_globals()['open']\nreturn os_open(settings['path'], 0)",
        {"path": str(secret)},
    )
    assert_refused(outcome, "PermissionError", "Permission denied")
    assert after["result"]["calls"] == 2


def test_reading_etc_passwd_through_the_escaped_os_module_is_denied(attack: Attack) -> None:
    outcome, _after = attack("return _escape_import('os').open('/etc/passwd', 0)")
    assert_refused(outcome, "PermissionError", "Permission denied: '/etc/passwd'")


def test_reading_etc_passwd_through_io_is_denied(attack: Attack) -> None:
    outcome, _after = attack("return _escape_import('io').open('/etc/passwd').read()")
    assert_refused(outcome, "PermissionError", "Permission denied: '/etc/passwd'")


def test_listing_a_host_directory_is_denied(attack: Attack) -> None:
    outcome, after = attack("return _escape_import('os').listdir('/root')")
    assert_refused(outcome, "PermissionError", "Permission denied: '/root'")
    assert after["result"]["calls"] == 2


def test_writing_a_file_is_refused_and_nothing_is_written(attack: Attack, tmp_path: Path) -> None:
    target = tmp_path / "dropped.txt"
    outcome, after = attack(
        """
        os = _escape_import("os")
        return os.open(settings["path"], os.O_WRONLY | os.O_CREAT)
        """,
        {"path": str(target)},
    )
    assert_refused(outcome, "PermissionError", "Operation not permitted")
    assert not target.exists()
    assert after["result"]["calls"] == 2


def test_writing_through_io_and_making_directories_are_refused(
    attack: Attack, tmp_path: Path
) -> None:
    outcome, _after = attack(
        """
        os = _escape_import("os")
        for attempt in (lambda: _escape_import("io").open(settings["file"], "w"),
                        lambda: os.mkdir(settings["dir"])):
            try:
                attempt()
            except PermissionError:
                continue
            return "written"
        return "refused"
        """,
        {"file": str(tmp_path / "f.txt"), "dir": str(tmp_path / "d")},
    )
    assert outcome["result"] == "refused"
    assert list(tmp_path.iterdir()) == []


# -- environment ----------------------------------------------------------------------------


def test_the_host_environment_does_not_reach_functions(
    monkeypatch: pytest.MonkeyPatch, full_lockdown: dict[str, str]
) -> None:
    monkeypatch.setenv("HEADRACE_TEST_PLANTED_SECRET", "planted-s3cret")
    code = ESCAPE + textwrap.dedent(
        """
        def on_track(event, settings):
            os = _escape_import("os")
            try:
                _escape_import("io").open("/proc/self/environ", "rb").read()
                proc = "readable"
            except PermissionError:
                proc = "denied"
            return {"environ": dict(os.environ), "via_os_globals": dict(_os_globals()["environ"]),
                    "getenv": os.getenv("HEADRACE_TEST_PLANTED_SECRET"), "proc": proc}
        """
    )
    # A pool started after the secret was planted, so its zygote could have inherited it.
    with SandboxPool() as fresh:
        outcome = fresh.run_once(code, FunctionKind.DESTINATION, "event", event("track"))
    assert outcome["result"] == {
        "environ": {},
        "via_os_globals": {},
        "getenv": None,
        "proc": "denied",
    }


# -- network --------------------------------------------------------------------------------


def test_opening_a_socket_is_refused(attack: Attack) -> None:
    outcome, after = attack("return str(_escape_import('socket').socket())")
    assert_refused(outcome, "PermissionError", "Operation not permitted")
    assert after["result"]["calls"] == 2


def test_connecting_to_a_local_server_directly_is_refused(attack: Attack, http_server: str) -> None:
    host, port = http_server.removeprefix("http://").split(":")
    outcome, _after = attack(
        """
        socket = _escape_import("socket")
        return str(socket.create_connection((settings["host"], settings["port"])))
        """,
        {"host": host, "port": int(port)},
    )
    assert_refused(outcome, "PermissionError")


# -- processes and signals ------------------------------------------------------------------


def test_fork_is_refused(attack: Attack) -> None:
    outcome, after = attack("return _escape_import('os').fork()")
    assert_refused(outcome, "PermissionError", "Operation not permitted")
    assert after["result"]["calls"] == 2


def test_a_fork_bomb_stops_at_the_first_fork(attack: Attack) -> None:
    outcome, after = attack(
        """
        os = _escape_import("os")
        while True:
            os.fork()
        """
    )
    assert_refused(outcome, "PermissionError")
    assert after["result"]["calls"] == 2


def test_subprocess_cannot_start_a_process(attack: Attack) -> None:
    outcome, after = attack("return str(_escape_import('subprocess').run(['/bin/true']))")
    assert_refused(outcome, "PermissionError")
    assert after["result"]["calls"] == 2


def test_os_system_runs_no_shell(attack: Attack, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    outcome, _after = attack(
        "return _os_globals()['system']('touch ' + settings['path'])", {"path": str(marker)}
    )
    # glibc reports a shell that could not be started as exit status 127.
    assert outcome["result"] == 127 << 8
    assert not marker.exists()


def test_killing_the_zygote_is_refused_and_it_keeps_forking_workers(
    attack: Attack, pool: SandboxPool
) -> None:
    probe = ESCAPE + "def on_track(event, settings):\n    return _escape_import('os').getppid()\n"
    zygote = pool.run_once(probe, FunctionKind.DESTINATION, "event", event("track"))["result"]
    outcome, after = attack(
        """
        os = _escape_import("os")
        return os.kill(os.getppid(), 9)
        """
    )
    assert_refused(outcome, "PermissionError", "Operation not permitted")
    assert after["result"]["calls"] == 2
    assert (
        pool.run_once(probe, FunctionKind.DESTINATION, "event", event("track"))["result"] == zygote
    )


def test_signalling_init_is_refused(attack: Attack) -> None:
    outcome, _after = attack("return _escape_import('os').kill(1, 0)")
    assert_refused(outcome, "PermissionError", "Operation not permitted")


def test_killing_the_host_process_is_refused(attack: Attack) -> None:
    outcome, _after = attack(
        "return _escape_import('os').kill(settings['pid'], 9)", {"pid": os.getpid()}
    )
    assert_refused(outcome, "PermissionError", "Operation not permitted")
    # This test process is still here to check.


@pytest.mark.skipif(platform.machine() != "x86_64", reason="uses the x86-64 syscall number")
def test_raw_syscalls_through_ctypes_are_refused_by_the_kernel(attack: Attack) -> None:
    outcome, _after = attack(
        """
        ctypes = _escape_import("ctypes")
        libc = ctypes.CDLL(None, use_errno=True)
        sys_kill = 62  # x86-64
        return [libc.syscall(sys_kill, settings["pid"], 9), ctypes.get_errno()]
        """,
        {"pid": os.getpid()},
    )
    assert outcome["result"] == [-1, 1]  # EPERM


def test_changing_uid_is_refused(attack: Attack) -> None:
    outcome, _after = attack("return _escape_import('os').setuid(0)")
    assert_refused(outcome, "PermissionError")


# -- resources ------------------------------------------------------------------------------


def test_a_memory_bomb_raises_memory_error_and_the_worker_keeps_serving(attack: Attack) -> None:
    outcome, after = attack("return len(b'x' * (1 << 31))")
    assert_refused(outcome, "MemoryError")
    assert after["result"]["calls"] == 2
    assert not after["replaced"]


def test_a_growing_memory_bomb_raises_memory_error(attack: Attack) -> None:
    outcome, after = attack(
        """
        hoard = []
        while True:
            hoard.append(bytearray(1 << 20))
        """
    )
    assert_refused(outcome, "MemoryError")
    assert after["result"]["calls"] == 2


def test_recursion_past_the_default_limit_is_a_recursion_error(attack: Attack) -> None:
    outcome, after = attack(
        """
        def dive(n):
            return dive(n + 1)
        return dive(0)
        """
    )
    assert_refused(outcome, "RecursionError", "maximum recursion depth exceeded")
    assert "Previous line repeated" in outcome["error"]["stack"]
    assert after["result"]["calls"] == 2


def test_a_stack_overflow_crash_is_reported_and_the_worker_replaced(attack: Attack) -> None:
    # Python 3.11 calls Python functions without C recursion, so the recursion goes through
    # a C builtin (sorted's key) to overflow the C stack once the limit is raised.
    outcome, after = attack(
        """
        _escape_import("sys").setrecursionlimit(10**6)

        def dive(n):
            return sorted([0], key=lambda _: dive(n + 1))
        return dive(0)
        """
    )
    assert_refused(outcome, "WorkerCrashed", "worker process died during the call")
    assert "killed by SIGSEGV (a crash" in outcome["error"]["message"]
    assert after["replaced"]
    assert after["result"]["calls"] == 1


def test_printing_10_mb_keeps_only_the_capped_logs(attack: Attack) -> None:
    outcome, after = attack(
        """
        print("y" * 5_000_000)
        for _ in range(5_000):
            print("z" * 1_000)
        return "printed"
        """
    )
    assert outcome["result"] == "printed"
    assert outcome["logs"] == ["y" * 4096, "[logs truncated: over the 4096-byte cap]"]
    assert after["result"]["calls"] == 2


def test_returning_a_100_mb_string_fails_cleanly(attack: Attack) -> None:
    outcome, after = attack("return 'x' * (100 * 1024 * 1024)")
    # orjson crashes the worker when it cannot allocate under RLIMIT_AS, which is reported
    # as a crash; either way the call is a bad request and the instance keeps serving.
    assert not outcome["ok"]
    assert outcome["result"] is None
    assert outcome["error"]["category"] == "bad_request"
    assert after["result"]["calls"] >= 1


def test_returning_over_16_mb_of_json_is_result_too_large(attack: Attack) -> None:
    outcome, after = attack("return ['x' * (1 << 20)] * 20")
    assert_refused(outcome, "ResultTooLarge", "over the 16777216-byte cap")
    assert after["result"]["calls"] == 2


def test_raising_system_exit_is_a_bad_request(attack: Attack) -> None:
    outcome, after = attack("raise SystemExit(0)")
    assert_refused(outcome, "SystemExit")
    assert after["result"]["calls"] == 2


def test_exiting_the_worker_process_is_reported_and_the_worker_replaced(attack: Attack) -> None:
    outcome, after = attack("_os_globals()['_exit'](3)")
    assert_refused(outcome, "WorkerCrashed", "(exited with status 3); it was replaced")
    assert after["replaced"]
    assert after["result"]["calls"] == 1


# -- the channel to the parent -------------------------------------------------------------

FORGE = """
protocol = _escape_import("sys").modules["headrace.runtime.protocol"]
channel = fetch._channel
"""


def test_a_frame_that_is_not_an_outcome_is_a_bad_request(attack: Attack) -> None:
    outcome, after = attack(FORGE + "protocol.send(channel.sock, [1, 2])\nreturn 'sent'")
    assert_refused(outcome, "WorkerCrashed")
    assert after["replaced"]


def test_a_forged_outcome_with_a_broken_shape_is_a_bad_request(attack: Attack) -> None:
    outcome, after = attack(
        FORGE + "protocol.send(channel.sock, {'ok': True, 'result': 5, 'perEvent': True})"
    )
    assert_refused(outcome, "WorkerCrashed")
    assert after["replaced"]


def test_a_forged_fetch_with_malformed_fields_is_refused_inside_the_function(
    attack: Attack,
) -> None:
    outcome, after = attack(
        FORGE
        + """
replies = [
    channel.call({"op": "fetch", "url": "https://example.com", "headers": ["x"]}),
    channel.call({"op": "fetch", "url": "https://example.com", "timeout": [1]}),
    channel.call({"op": "fetch", "url": "https://example.com", "body": 7}),
]
return [sorted(r) for r in replies]
"""
    )
    assert outcome["result"] == [["error", "op"]] * 3
    assert [r["status"] for r in outcome["requests"]] == [None] * 3
    assert after["result"]["calls"] == 2


def test_fetch_while_the_module_loads_is_a_load_error(pool: SandboxPool) -> None:
    code = function_code(
        """
        import asyncio

        TOKEN = asyncio.get_event_loop().run_until_complete(fetch("https://example.com"))

        def on_track(event, settings):
            return 1
        """
    )
    error = pool.run_once(code, FunctionKind.DESTINATION, "event", event("track"))["error"]
    assert error["type"] == "FunctionLoadError"
    assert error["category"] == "invalid_settings"


# -- tenants --------------------------------------------------------------------------------


def test_an_instance_cannot_see_another_instances_globals_or_settings(
    pool: SandboxPool, instance: MakeInstance
) -> None:
    code = ESCAPE + textwrap.dedent(
        """
        remembered = None

        def on_track(event, settings):
            global remembered
            remembered = settings

        def on_identify(event, settings):
            return {"remembered": remembered, "pid": _escape_import("os").getpid()}
        """
    )
    victim, snoop = instance(code), instance(code)
    pool.invoke(victim, "event", event("track"), {"apiKey": "victim-secret"})
    seen_by_snoop = pool.invoke(snoop, "event", event("identify"))["result"]
    seen_by_victim = pool.invoke(victim, "event", event("identify"))["result"]
    assert seen_by_victim["remembered"] == {"apiKey": "victim-secret"}
    assert seen_by_snoop["remembered"] is None
    assert seen_by_snoop["pid"] != seen_by_victim["pid"]


def test_the_worker_reports_the_lockdown_in_force(pool: SandboxPool) -> None:
    report = pool.isolation()
    assert report["environment"] == "empty"
    assert report["rlimits"].startswith("active")
    assert report["network"].startswith("none")
    if os.geteuid() == 0:
        assert report["uid"].startswith("active: unprivileged uid")
