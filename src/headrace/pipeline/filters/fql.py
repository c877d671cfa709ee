"""FQL, Segment's Filter Query Language: the grammar, its parse into an AST, and its compile.

`compile_fql` parses a filter's `if` once and turns it into a tree of small closures, so
matching an event costs a few dictionary look-ups and comparisons, never a parse.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from headrace.pipeline.filters.fql_functions import (
    FUNCTIONS,
    GlobPatternError,
    compile_glob,
    is_number,
    strict_equal,
)

MATCH_ALL = "all"
"""The `if` that matches every event without being FQL."""

MAX_FQL_DEPTH = 64
"""How deeply operators, function calls and lists may nest in one expression."""

Event = Mapping[str, Any]
Condition = Callable[[Event], bool]
"""A compiled FQL expression: does this event match?"""

_Getter = Callable[[Event], Any]

# Precedence, loosest first: or, and, `!`, then one comparison (`=` `!=` `<` `<=` `>` `>=`
# `in`) between two operands. `!` binds looser than a comparison, so `!event = 'A'` means
# `!(event = 'A')`; comparisons do not chain.
_GRAMMAR = r"""
?start: or_expr

?or_expr: and_expr ("or" and_expr)*
?and_expr: not_expr ("and" not_expr)*
?not_expr: BANG not_expr -> negation
         | comparison
?comparison: operand
           | operand COMPARATOR operand -> compare
           | operand "in" operand -> membership

?operand: STRING -> string
        | NUMBER -> number
        | TRUE -> true
        | FALSE -> false
        | NULL -> null
        | LSQB [operand ("," operand)*] "]" -> array
        | PATH -> path
        | PATH "(" [operand ("," operand)*] ")" -> call
        | "(" or_expr ")"

BANG: "!"
LSQB: "["
TRUE: "true"
FALSE: "false"
NULL: "null"
COMPARATOR: "=" | "!=" | "<=" | ">=" | "<" | ">"
STRING: /'(?:[^'\\]|\\.)*'/s | /"(?:[^"\\]|\\.)*"/s
NUMBER: /-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?/
PATH: /(?:[A-Za-z_]|\\.)(?:[A-Za-z0-9_\-]|\\.)*(?:\.(?:[A-Za-z0-9_\-]|\\.)+)*/s

%import common.WS
%ignore WS
"""


class FqlSyntaxError(ValueError):
    """Invalid FQL: why, and where (`position` is a 0-based character offset; `line` and
    `column` count from 1)."""

    def __init__(self, reason: str, position: int, source: str) -> None:
        self.reason = reason
        self.position = position
        self.line = source.count("\n", 0, position) + 1
        self.column = position - (source.rfind("\n", 0, position) + 1) + 1
        where = f"at position {position}"
        if "\n" in source:
            where += f" (line {self.line}, column {self.column})"
        super().__init__(f"{reason} {where}")


# --- the AST ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Constant:
    value: Any
    position: int


@dataclass(frozen=True, slots=True)
class Path:
    keys: tuple[str, ...]
    position: int


@dataclass(frozen=True, slots=True)
class ListOf:
    items: tuple[Node, ...]
    position: int


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    args: tuple[Node, ...]
    position: int


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node
    position: int


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Compare:
    op: str
    left: Node
    right: Node
    position: int


@dataclass(frozen=True, slots=True)
class In:
    item: Node
    container: Node


Node = Constant | Path | ListOf | Call | Not | And | Or | Compare | In


# --- parsing ------------------------------------------------------------------------------

_STRING_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_PATH_KEY = re.compile(r"(?:[^.\\]|\\.)+", re.DOTALL)


def _unquote(token: Token) -> str:
    """A string literal's text: `\\'`, `\\"` and `\\\\` unescape; any other `\\x` stays as
    written, so glob escapes like `'\\*'` reach `match()` intact."""
    body = token.value[1:-1]
    return _STRING_ESCAPE.sub(lambda m: m[1] if m[1] in "'\"\\" else m[0], body)


def _path_keys(text: str) -> tuple[str, ...]:
    return tuple(_STRING_ESCAPE.sub(r"\1", key) for key in _PATH_KEY.findall(text))


def _children(items: Sequence[Node | None]) -> tuple[Node, ...]:
    return tuple(item for item in items if item is not None)


class _ToAst(Transformer[Token, Node]):
    """Builds the AST while the LALR parser reduces, so no parse tree is kept."""

    def or_expr(self, operands: list[Node]) -> Node:
        return Or(tuple(operands))

    def and_expr(self, operands: list[Node]) -> Node:
        return And(tuple(operands))

    @v_args(inline=True)
    def negation(self, bang: Token, operand: Node) -> Node:
        return Not(operand, bang.start_pos or 0)

    @v_args(inline=True)
    def compare(self, left: Node, op: Token, right: Node) -> Node:
        return Compare(op.value, left, right, op.start_pos or 0)

    @v_args(inline=True)
    def membership(self, item: Node, container: Node) -> Node:
        return In(item, container)

    @v_args(inline=True)
    def string(self, token: Token) -> Node:
        return Constant(_unquote(token), token.start_pos or 0)

    @v_args(inline=True)
    def number(self, token: Token) -> Node:
        text = token.value
        if "." in text or "e" in text or "E" in text:
            value = float(text)
            if not math.isfinite(value):
                raise FqlSyntaxError(f"number {text} is out of range", token.start_pos or 0, "")
            return Constant(value, token.start_pos or 0)
        return Constant(int(text), token.start_pos or 0)

    @v_args(inline=True)
    def true(self, token: Token) -> Node:
        return Constant(True, token.start_pos or 0)

    @v_args(inline=True)
    def false(self, token: Token) -> Node:
        return Constant(False, token.start_pos or 0)

    @v_args(inline=True)
    def null(self, token: Token) -> Node:
        return Constant(None, token.start_pos or 0)

    def array(self, children: list[Any]) -> Node:
        bracket: Token = children[0]
        return ListOf(_children(children[1:]), bracket.start_pos or 0)

    @v_args(inline=True)
    def path(self, token: Token) -> Node:
        return Path(_path_keys(token.value), token.start_pos or 0)

    def call(self, children: list[Any]) -> Node:
        name: Token = children[0]
        return Call(name.value, _children(children[1:]), name.start_pos or 0)


@cache
def _parser() -> Lark:
    return Lark(
        _GRAMMAR,
        parser="lalr",
        lexer="basic",
        transformer=_ToAst(),
        maybe_placeholders=True,
    )


_TERMINAL_NAMES = {
    "AND": "'and'",
    "OR": "'or'",
    "IN": "'in'",
    "COMPARATOR": "a comparison",
    "RPAR": "')'",
    "RSQB": "']'",
    "COMMA": "','",
    "$END": "end of expression",
}
_VALUE_TERMINALS = frozenset({"STRING", "NUMBER", "PATH", "TRUE", "FALSE", "NULL", "LSQB", "BANG"})


def _expected(terminals: set[str]) -> str:
    names: list[str] = []
    if terminals & _VALUE_TERMINALS:
        names.append("a value")
    names += sorted(
        _TERMINAL_NAMES[t] for t in terminals - _VALUE_TERMINALS if t in _TERMINAL_NAMES
    )
    if not names:
        return ""
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
    return f"; expected {listed}"


def _syntax_error(error: UnexpectedInput, source: str) -> FqlSyntaxError:
    if isinstance(error, UnexpectedCharacters):
        position = error.pos_in_stream or 0
        char = source[position]
        if char in "'\"":
            return FqlSyntaxError("unterminated string", position, source)
        if char == "\\":
            return FqlSyntaxError("a '\\' must escape a character", position, source)
        return FqlSyntaxError(f"unexpected character {char!r}", position, source)
    expected: set[str] = set()
    if isinstance(error, UnexpectedToken):
        # `accepts` is what the parser would take after its pending reductions; `expected`
        # also lists terminals that only some reduction could have led to.
        expected = set(error.accepts or error.expected)
        token = error.token
        if token.type != "$END":
            return FqlSyntaxError(
                f"unexpected {token.value!r}{_expected(expected)}", token.start_pos or 0, source
            )
    elif isinstance(error, UnexpectedEOF):
        expected = set(error.expected)
    return FqlSyntaxError(f"unexpected end of expression{_expected(expected)}", len(source), source)


def parse_fql(text: str) -> Node:
    """The AST of an FQL expression; raises FqlSyntaxError."""
    if not text.strip():
        raise FqlSyntaxError("empty expression", 0, text)
    try:
        node: Node = _parser().parse(text)  # type: ignore[assignment]
    except FqlSyntaxError as error:  # raised by the transformer, which lacks the source
        raise FqlSyntaxError(error.reason, error.position, text) from None
    except UnexpectedInput as error:
        raise _syntax_error(error, text) from None
    return node


# --- compiling ----------------------------------------------------------------------------


def compile_fql(text: str) -> Condition:
    """Parse and compile an FQL expression (or `all`) into a Condition.

    Raises FqlSyntaxError for invalid FQL, an unknown function, a wrong number of
    arguments, or a malformed literal `match()` pattern.
    """
    if text.strip() == MATCH_ALL:
        return _constant_condition(True)
    return _Compiler(text).condition(parse_fql(text), 0)


def _constant_condition(result: bool) -> Condition:
    def constant(event: Event) -> bool:
        return result

    return constant


def _path_getter(keys: tuple[str, ...]) -> _Getter:
    # Unrolled for the usual depths: each level is a dict look-up or, off the end, null.
    if len(keys) == 1:
        (k0,) = keys
        return lambda event: event.get(k0)
    if len(keys) == 2:
        k0, k1 = keys

        def get2(event: Event) -> Any:
            v = event.get(k0)
            return v.get(k1) if isinstance(v, dict) else None

        return get2
    if len(keys) == 3:
        k0, k1, k2 = keys

        def get3(event: Event) -> Any:
            v = event.get(k0)
            if not isinstance(v, dict):
                return None
            v = v.get(k1)
            return v.get(k2) if isinstance(v, dict) else None

        return get3

    def get(event: Event) -> Any:
        v: Any = event
        for key in keys:
            if not isinstance(v, dict):
                return None
            v = v.get(key)
        return v

    return get


_ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class _Compiler:
    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, reason: str, position: int) -> FqlSyntaxError:
        return FqlSyntaxError(reason, position, self.source)

    def check_depth(self, node: Node, depth: int) -> None:
        if depth > MAX_FQL_DEPTH:
            position = getattr(node, "position", 0)
            raise self.error(f"expression nests more than {MAX_FQL_DEPTH} levels deep", position)

    def condition(self, node: Node, depth: int) -> Condition:
        """Compile `node` to a Condition: true only where the value is exactly `true`."""
        self.check_depth(node, depth)
        if isinstance(node, Or | And):
            return self.junction(node, depth)
        if isinstance(node, Not):
            inner = self.condition(node.operand, depth + 1)
            return lambda event: not inner(event)
        if isinstance(node, Compare):
            return self.comparison(node, depth)
        if isinstance(node, In):
            return self.membership(node, depth)
        if isinstance(node, Constant):
            return _constant_condition(node.value is True)
        get = self.value(node, depth)
        return lambda event: get(event) is True

    def junction(self, node: And | Or, depth: int) -> Condition:
        parts = tuple(self.condition(operand, depth + 1) for operand in node.operands)
        if isinstance(node, And):
            if len(parts) == 2:
                a, b = parts
                return lambda event: a(event) and b(event)

            def all_of(event: Event) -> bool:
                return all(part(event) for part in parts)

            return all_of
        if len(parts) == 2:
            a, b = parts
            return lambda event: a(event) or b(event)

        def any_of(event: Event) -> bool:
            return any(part(event) for part in parts)

        return any_of

    def comparison(self, node: Compare, depth: int) -> Condition:
        if node.op in ("=", "!="):
            equal = self.equality(node.left, node.right, depth)
            if node.op == "=":
                return equal
            return lambda event: not equal(event)
        compare = _ORDERINGS[node.op]
        left, right = node.left, node.right
        if isinstance(right, Constant) and not isinstance(left, Constant):
            if not is_number(right.value):
                return _constant_condition(False)
            get, bound = self.value(left, depth + 1), right.value

            def against_constant(event: Event) -> bool:
                v = get(event)
                kind = type(v)
                return (kind is int or kind is float) and compare(v, bound)

            return against_constant
        get_left, get_right = self.value(left, depth + 1), self.value(right, depth + 1)

        def ordered(event: Event) -> bool:
            a, b = get_left(event), get_right(event)
            return is_number(a) and is_number(b) and compare(a, b)

        return ordered

    def equality(self, left: Node, right: Node, depth: int) -> Condition:
        if isinstance(left, Constant) and not isinstance(right, Constant):
            left, right = right, left
        if isinstance(right, Constant) and not isinstance(left, Constant):
            get, value = self.value(left, depth + 1), right.value
            # Python's == is already type-strict against a string; None and booleans are
            # singletons; only numbers need bool kept out (True == 1 in Python).
            if type(value) is str:
                return lambda event: bool(get(event) == value)
            if value is None or type(value) is bool:
                return lambda event: get(event) is value
            if is_number(value):

                def equals_number(event: Event) -> bool:
                    v = get(event)
                    return bool(v == value) and type(v) is not bool

                return equals_number
            return lambda event: strict_equal(get(event), value)
        get_left, get_right = self.value(left, depth + 1), self.value(right, depth + 1)
        return lambda event: strict_equal(get_left(event), get_right(event))

    def membership(self, node: In, depth: int) -> Condition:
        get = self.value(node.item, depth + 1)
        container = node.container
        if isinstance(container, ListOf) and all(
            isinstance(item, Constant) for item in container.items
        ):
            items = [item.value for item in container.items if isinstance(item, Constant)]
            return _in_constant_list(get, items)
        if isinstance(container, Constant):
            if not isinstance(container.value, list):
                return _constant_condition(False)
            return _in_constant_list(get, container.value)
        get_list = self.value(container, depth + 1)

        def in_list(event: Event) -> bool:
            candidates = get_list(event)
            if not isinstance(candidates, list | tuple):
                return False
            v = get(event)
            return any(strict_equal(v, candidate) for candidate in candidates)

        return in_list

    def value(self, node: Node, depth: int) -> _Getter:
        """Compile `node` to a getter of its value in an event."""
        self.check_depth(node, depth)
        if isinstance(node, Constant):
            constant = node.value
            return lambda event: constant
        if isinstance(node, Path):
            return _path_getter(node.keys)
        if isinstance(node, ListOf):
            return self.list_value(node, depth)
        if isinstance(node, Call):
            return self.call(node, depth)
        return self.condition(node, depth)

    def list_value(self, node: ListOf, depth: int) -> _Getter:
        if all(isinstance(item, Constant) for item in node.items):
            constant = [item.value for item in node.items if isinstance(item, Constant)]
            return lambda event: constant
        getters = tuple(self.value(item, depth + 1) for item in node.items)
        return lambda event: [get(event) for get in getters]

    def call(self, node: Call, depth: int) -> _Getter:
        function = FUNCTIONS.get(node.name)
        if function is None:
            raise self.error(f"unknown function {node.name!r}", node.position)
        if len(node.args) != function.arity:
            plural = "" if function.arity == 1 else "s"
            raise self.error(
                f"{function.name}() takes {function.arity} argument{plural}, got {len(node.args)}",
                node.position,
            )
        if function.name == "match" and isinstance(node.args[1], Constant):
            return self.literal_match(node.args[0], node.args[1], depth)
        getters = tuple(self.value(arg, depth + 1) for arg in node.args)
        impl = function.impl
        if len(getters) == 1:
            (g0,) = getters
            return lambda event: impl(g0(event))
        g0, g1 = getters
        return lambda event: impl(g0(event), g1(event))

    def literal_match(self, subject: Node, pattern: Constant, depth: int) -> _Getter:
        """`match()` with a pattern written in the FQL: translate it once, here."""
        if type(pattern.value) is not str:
            return lambda event: False
        try:
            regex = compile_glob(pattern.value)
        except GlobPatternError as error:
            position = _source_position(self.source, pattern.position, error.index)
            raise self.error(f"invalid match() pattern: {error.reason}", position) from None
        get, fullmatch = self.value(subject, depth + 1), regex.fullmatch

        def matches(event: Event) -> bool:
            v = get(event)
            return type(v) is str and fullmatch(v) is not None

        return matches


def _source_position(source: str, literal_start: int, index: int) -> int:
    """Where the `index`-th character of a string literal's value is written in `source`."""
    position = literal_start + 1  # past the opening quote
    for _ in range(index):
        unescapes = source[position] == "\\" and source[position + 1] in "'\"\\"
        position += 2 if unescapes else 1
    return position


def _in_constant_list(get: _Getter, items: Sequence[Any]) -> Condition:
    """`x in [...]` against literals: hashed look-ups for strings and numbers."""
    strings = frozenset(item for item in items if type(item) is str)
    numbers = frozenset(item for item in items if is_number(item))
    others = tuple(item for item in items if type(item) is not str and not is_number(item))

    def in_constant_list(event: Event) -> bool:
        v = get(event)
        kind = type(v)
        if kind is str:
            return v in strings
        if kind is int or kind is float:
            return v in numbers
        return any(strict_equal(v, other) for other in others)

    return in_constant_list
