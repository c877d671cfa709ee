"""The import allowlist: safe standard-library modules load, anything else names the module."""

from __future__ import annotations

import pytest

from headrace.runtime import FunctionKind, SandboxPool
from tests.runtime.support import event

ALLOWED_USES = {
    "json": ("import json", 'json.dumps({"a": 1})', '{"a": 1}'),
    "re": ("import re", 're.sub(r"\\d", "#", "a1b2")', "a#b#"),
    "datetime": (
        "from datetime import datetime, timezone",
        "datetime(2024, 1, 2, tzinfo=timezone.utc).isoformat()",
        "2024-01-02T00:00:00+00:00",
    ),
    "hashlib": ("import hashlib", 'hashlib.sha256(b"abc").hexdigest()[:8]', "ba7816bf"),
    "hmac": (
        "import hmac",
        'hmac.new(b"key", b"msg", "sha256").hexdigest()[:8]',
        "2d93cbc1",
    ),
    "base64": ("import base64", 'base64.b64encode(b"hi").decode()', "aGk="),
    "uuid": ("import uuid", 'str(uuid.uuid5(uuid.NAMESPACE_DNS, "example.com"))[:8]', "cfbff0d1"),
    "zoneinfo": (
        "from datetime import datetime\nfrom zoneinfo import ZoneInfo",
        'datetime(2024, 7, 1, 12, tzinfo=ZoneInfo("America/New_York")).strftime("%z %Z")',
        "-0400 EDT",
    ),
    "urllib.parse": (
        "from urllib.parse import urlencode, urlparse",
        'urlencode({"q": "a b"}) + " " + urlparse("https://x.io/p?q=1").netloc',
        "q=a+b x.io",
    ),
}


@pytest.mark.parametrize("module", sorted(ALLOWED_USES))
def test_allowlisted_modules_import_and_work(pool: SandboxPool, module: str) -> None:
    imports, expression, expected = ALLOWED_USES[module]
    code = f"{imports}\n\ndef on_track(event, settings):\n    return {expression}\n"
    outcome = pool.run_once(code, FunctionKind.DESTINATION, "event", event("track"))
    assert outcome["ok"], outcome["error"]
    assert outcome["result"] == expected


@pytest.mark.parametrize(
    ("statement", "module"),
    [
        ("import os", "os"),
        ("import socket", "socket"),
        ("import subprocess", "subprocess"),
        ("from urllib import request", "urllib.request"),
        ("import urllib.request", "urllib.request"),
        ("import urllib", "urllib"),
        ("import importlib", "importlib"),
        ("from os import path", "os"),
    ],
)
def test_other_imports_fail_at_load_naming_the_module(
    pool: SandboxPool, statement: str, module: str
) -> None:
    code = f"import json\n{statement}\n\ndef on_track(event, settings):\n    return 1\n"
    outcome = pool.run_once(code, FunctionKind.DESTINATION, "event", event("track"))
    error = outcome["error"]
    assert error["type"] == "FunctionLoadError"
    assert error["category"] == "invalid_settings"
    assert error["line"] == 2
    assert f"import of module {module!r} is not allowed in functions" in error["message"]


def test_a_forbidden_import_inside_a_handler_fails_at_load(pool: SandboxPool) -> None:
    code = "def on_track(event, settings):\n    import subprocess\n    return 1\n"
    error = pool.run_once(code, FunctionKind.DESTINATION, "event", event("track"))["error"]
    assert error["type"] == "FunctionLoadError"
    assert error["line"] == 2


def test_a_dynamic_import_of_a_forbidden_module_fails_when_called(pool: SandboxPool) -> None:
    code = "def on_track(event, settings):\n    return __import__('os').getcwd()\n"
    error = pool.run_once(code, FunctionKind.DESTINATION, "event", event("track"))["error"]
    assert error["type"] == "ImportError"
    assert error["category"] == "bad_request"
    assert error["message"] == "import of module 'os' is not allowed in functions"


def test_relative_imports_are_refused(pool: SandboxPool) -> None:
    code = "from . import helpers\n\ndef on_track(event, settings):\n    return 1\n"
    error = pool.run_once(code, FunctionKind.DESTINATION, "event", event("track"))["error"]
    assert error["type"] == "FunctionLoadError"
    assert "relative imports are not available" in error["message"]
