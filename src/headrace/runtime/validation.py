"""Static checks of a function's code, the way the runtime will load it, without running it."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from headrace.runtime.allowlist import forbidden_import
from headrace.spec import EVENT_TYPES

CODE_FILENAME = "function.py"
"""The file name user code carries in stack traces and error messages."""


class FunctionKind(StrEnum):
    DESTINATION = "destination"
    INSERT = "insert"
    SOURCE = "source"


EVENT_HANDLERS: dict[str, str] = {f"on_{t}": f"on{t.capitalize()}" for t in EVENT_TYPES}
"""snake_case event handler name -> its camelCase alias."""

BATCH_HANDLER = ("on_batch", "onBatch")
REQUEST_HANDLER = ("on_request", "onRequest")


@dataclass(frozen=True)
class CodeProblem:
    """Why code does not load, with the line it is on (1-based) when there is one."""

    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.message}"


def _handler_pairs(kind: FunctionKind) -> list[tuple[str, str]]:
    if kind is FunctionKind.SOURCE:
        return [REQUEST_HANDLER]
    return [*EVENT_HANDLERS.items(), BATCH_HANDLER]


def check_code(code: str, kind: FunctionKind) -> CodeProblem | None:
    """The first reason `code` would not load as a `kind` function, or None."""
    try:
        tree = ast.parse(code, filename=CODE_FILENAME)
    except SyntaxError as exc:
        return CodeProblem(f"SyntaxError: {exc.msg}", exc.lineno)
    except ValueError as exc:  # e.g. NUL bytes in the source
        return CodeProblem(f"the code cannot be parsed: {exc}")
    for node in ast.walk(tree):
        problem = _import_problem(node)
        if problem is not None:
            return problem
    defined = {
        node.name: node.lineno
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    return handler_problem(defined, kind)


def defined_handlers(code: str) -> frozenset[str]:
    """The handlers `code` defines at its top level, by snake_case name (`on_track`,
    `on_batch`, ...; camelCase aliases count as their snake_case name)."""
    try:
        tree = ast.parse(code, filename=CODE_FILENAME)
    except (SyntaxError, ValueError):
        return frozenset()
    snake_of = {
        name: snake
        for snake, camel in [*EVENT_HANDLERS.items(), BATCH_HANDLER, REQUEST_HANDLER]
        for name in (snake, camel)
    }
    return frozenset(
        snake_of[node.name]
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in snake_of
    )


def handler_problem(defined: Mapping[str, int | None], kind: FunctionKind) -> CodeProblem | None:
    """Why the top-level names in `defined` (name -> line) are not a valid set of handlers."""
    found = False
    for snake, camel in _handler_pairs(kind):
        if snake in defined and camel in defined:
            return CodeProblem(
                f"both {snake} and {camel} are defined: keep one spelling", defined[camel]
            )
        found = found or snake in defined or camel in defined
    if found:
        return None
    if kind is FunctionKind.SOURCE:
        return CodeProblem("a source function must define on_request(request, settings)")
    return CodeProblem(
        f"a {kind.value} function must define at least one handler: "
        + ", ".join([*EVENT_HANDLERS, BATCH_HANDLER[0]])
    )


def _import_problem(node: ast.AST) -> CodeProblem | None:
    if isinstance(node, ast.Import):
        for alias in node.names:
            bad = forbidden_import(alias.name)
            if bad is not None:
                return _forbidden(bad, node.lineno)
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            return CodeProblem("relative imports are not available in functions", node.lineno)
        bad = forbidden_import(node.module or "", [alias.name for alias in node.names])
        if bad is not None:
            return _forbidden(bad, node.lineno)
    return None


def _forbidden(module: str, line: int) -> CodeProblem:
    return CodeProblem(f"import of module {module!r} is not allowed in functions", line)
