"""`check_code`: the static checks the editor runs before saving, the same ones loading runs."""

from __future__ import annotations

import pytest

from headrace.runtime import CodeProblem, FunctionKind, check_code
from tests.runtime.support import function_code

DESTINATION, INSERT, SOURCE = FunctionKind.DESTINATION, FunctionKind.INSERT, FunctionKind.SOURCE


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        (DESTINATION, "import json\n\nasync def on_track(event, settings):\n    return 1\n"),
        (DESTINATION, "def onIdentify(event, settings):\n    pass\n"),
        (DESTINATION, "def on_batch(events, settings):\n    return []\n"),
        (INSERT, "def on_page(event, settings):\n    return event\n"),
        (
            SOURCE,
            "from urllib.parse import parse_qs\n\ndef on_request(request, settings):\n    pass\n",
        ),
        (SOURCE, "async def onRequest(request, settings):\n    pass\n"),
    ],
)
def test_valid_code_of_each_kind_has_no_problem(kind: FunctionKind, code: str) -> None:
    assert check_code(code, kind) is None


@pytest.mark.parametrize("kind", [DESTINATION, INSERT])
def test_an_event_function_needs_at_least_one_handler(kind: FunctionKind) -> None:
    problem = check_code("def helper():\n    pass\n", kind)
    assert problem == CodeProblem(
        f"a {kind.value} function must define at least one handler: on_track, on_identify, "
        "on_page, on_screen, on_group, on_alias, on_delete, on_batch"
    )


def test_on_request_does_not_count_as_a_destination_handler() -> None:
    problem = check_code("def on_request(request, settings):\n    pass\n", DESTINATION)
    assert problem is not None
    assert "must define at least one handler" in problem.message


def test_a_source_function_needs_on_request() -> None:
    problem = check_code("def on_track(event, settings):\n    pass\n", SOURCE)
    assert problem == CodeProblem("a source function must define on_request(request, settings)")


def test_a_syntax_error_is_reported_with_its_line() -> None:
    problem = check_code("def on_track(event, settings):\n    return (\n", DESTINATION)
    assert problem is not None
    assert problem.line == 2
    assert problem.message.startswith("SyntaxError:")
    assert str(problem).startswith("line 2: SyntaxError:")


def test_code_with_a_nul_byte_cannot_be_parsed() -> None:
    problem = check_code("def on_track(event, settings):\n    return '\0'\n\0", DESTINATION)
    assert problem is not None


@pytest.mark.parametrize(
    ("statement", "module"),
    [
        ("import os", "os"),
        ("import socket", "socket"),
        ("import json, subprocess", "subprocess"),
        ("from urllib import request", "urllib.request"),
        ("from urllib import parse, request", "urllib.request"),
        ("import urllib", "urllib"),
        ("import os.path", "os.path"),
    ],
)
def test_a_forbidden_import_is_reported_with_its_module_and_line(
    statement: str, module: str
) -> None:
    code = f"import re\n{statement}\n\ndef on_track(event, settings):\n    pass\n"
    assert check_code(code, DESTINATION) == CodeProblem(
        f"import of module {module!r} is not allowed in functions", 2
    )


def test_a_forbidden_import_inside_a_handler_is_found() -> None:
    code = function_code(
        """
        def on_track(event, settings):
            if settings.get("debug"):
                import os
        """
    )
    assert check_code(code, DESTINATION) == CodeProblem(
        "import of module 'os' is not allowed in functions", 3
    )


def test_relative_imports_are_reported() -> None:
    problem = check_code("from .helpers import x\n\ndef on_track(e, s):\n    pass\n", DESTINATION)
    assert problem == CodeProblem("relative imports are not available in functions", 1)


@pytest.mark.parametrize(
    ("kind", "snake", "camel"),
    [
        (DESTINATION, "on_track", "onTrack"),
        (INSERT, "on_delete", "onDelete"),
        (DESTINATION, "on_batch", "onBatch"),
        (SOURCE, "on_request", "onRequest"),
    ],
)
def test_both_spellings_of_a_handler_are_reported_on_the_camel_case_line(
    kind: FunctionKind, snake: str, camel: str
) -> None:
    code = f"def {snake}(a, b):\n    pass\n\n\nasync def {camel}(a, b):\n    pass\n"
    assert check_code(code, kind) == CodeProblem(
        f"both {snake} and {camel} are defined: keep one spelling", 5
    )


def test_the_problem_reads_with_its_line() -> None:
    assert str(CodeProblem("import of module 'os' is not allowed", 3)) == (
        "line 3: import of module 'os' is not allowed"
    )
    assert str(CodeProblem("no handler")) == "no handler"
