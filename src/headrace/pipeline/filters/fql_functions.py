"""FQL's values and built-in functions: type-strict equality, glob matching, and the functions.

Every function is total: on a value of the wrong type (null included) it answers null or
false as Segment's FQL does, so evaluating a filter never raises.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from math import isfinite
from typing import Any, cast

import orjson

GLOB_CACHE_SIZE = 512
"""How many compiled glob patterns built from event values `match()` keeps."""


def is_number(value: Any) -> bool:
    """A JSON number: an int or a float, never a bool (Python's bool is an int)."""
    kind = type(value)
    return kind is int or kind is float


def fql_type(value: Any) -> str:
    """The FQL type name of a JSON value, as `typeof()` answers it."""
    kind = type(value)
    if kind is str:
        return "string"
    if kind is bool:
        return "bool"
    if kind is int or kind is float:
        return "number"
    if value is None:
        return "null"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, dict):
        return "object"
    return "unknown"


def strict_equal(left: Any, right: Any) -> bool:
    """`=`: the same FQL type and equal; lists and objects compare element by element."""
    left_kind, right_kind = type(left), type(right)
    if left_kind is str or right_kind is str or left_kind is bool or right_kind is bool:
        return left_kind is right_kind and bool(left == right)
    if left is None or right is None:
        return left is right
    if is_number(left) or is_number(right):
        return is_number(left) and is_number(right) and bool(left == right)
    if isinstance(left, list | tuple):
        return (
            isinstance(right, list | tuple)
            and len(left) == len(right)
            and all(strict_equal(a, b) for a, b in zip(left, right, strict=True))
        )
    if isinstance(left, dict):
        return (
            isinstance(right, dict)
            and left.keys() == right.keys()
            and all(strict_equal(value, right[key]) for key, value in left.items())
        )
    return False


# --- glob ---------------------------------------------------------------------------------


class GlobPatternError(ValueError):
    """A malformed `match()` pattern; `index` is where in the pattern the fault is."""

    def __init__(self, reason: str, index: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.index = index


def compile_glob(pattern: str) -> re.Pattern[str]:
    """Translate a Segment glob (`*`, `?`, `[a-z]`, `[^a]`, `\\x`) to a whole-string regex.

    The dialect is Go's path.Match without a path separator, which Segment uses: `*`
    crosses every character, `^` (not `!`) negates a class, and `-` or `]` inside a
    class must be escaped unless `]` closes it.
    """
    parts: list[str] = []
    i, end = 0, len(pattern)
    while i < end:
        char = pattern[i]
        if char == "*":
            while i < end and pattern[i] == "*":
                i += 1
            parts.append(".*")
            continue
        if char == "?":
            parts.append(".")
        elif char == "\\":
            if i + 1 == end:
                raise GlobPatternError("pattern ends with an unescaped '\\'", i)
            i += 1
            parts.append(re.escape(pattern[i]))
        elif char == "[":
            regex, i = _glob_class(pattern, i)
            parts.append(regex)
            continue
        else:
            parts.append(re.escape(char))
        i += 1
    return re.compile("".join(parts), re.DOTALL)


def _glob_class(pattern: str, start: int) -> tuple[str, int]:
    """The regex for the class opening at `start`, and the index just past its `]`."""
    i, end = start + 1, len(pattern)
    negated = i < end and pattern[i] == "^"
    if negated:
        i += 1
    pieces: list[str] = []
    ranges = 0
    while True:
        if i < end and pattern[i] == "]" and ranges > 0:
            i += 1
            break
        low, i = _glob_class_char(pattern, i, start)
        high = low
        if i < end and pattern[i] == "-":
            high, i = _glob_class_char(pattern, i + 1, start)
        if low <= high:  # an inverted range matches nothing, as in Go
            pieces.append(re.escape(low) if low == high else f"{re.escape(low)}-{re.escape(high)}")
        ranges += 1
    if pieces:
        return f"[{'^' if negated else ''}{''.join(pieces)}]", i
    return ("." if negated else "(?!)"), i


def _glob_class_char(pattern: str, i: int, class_start: int) -> tuple[str, int]:
    end = len(pattern)
    if i >= end:
        raise GlobPatternError("unterminated character class", class_start)
    char = pattern[i]
    if char == "]":
        raise GlobPatternError("empty character class", class_start)
    if char == "-":
        raise GlobPatternError("'-' in a character class must be escaped", i)
    if char == "\\":
        i += 1
        if i >= end:
            raise GlobPatternError("unterminated character class", class_start)
        char = pattern[i]
    if i + 1 >= end:
        raise GlobPatternError("unterminated character class", class_start)
    return char, i + 1


@lru_cache(maxsize=GLOB_CACHE_SIZE)
def _glob_from_value(pattern: str) -> re.Pattern[str] | None:
    try:
        return compile_glob(pattern)
    except GlobPatternError:
        return None


# --- functions ----------------------------------------------------------------------------


def fql_contains(text: Any, sub: Any) -> bool:
    return type(text) is str and type(sub) is str and sub in text


def fql_length(value: Any) -> int | None:
    """Bytes of a string (UTF-8, as Segment counts), items of a list, keys of an object."""
    if value is None:
        return 0
    if type(value) is str:
        return len(value.encode())
    if isinstance(value, list | tuple | dict):
        return len(value)
    return None


def fql_lowercase(value: Any) -> str | None:
    return value.lower() if type(value) is str else None


def fql_uppercase(value: Any) -> str | None:
    return value.upper() if type(value) is str else None


def _ascii_words(text: str) -> list[str]:
    """Words as Segment's go-snakecase finds them: ASCII letters and digits only.

    A word is a run of capitals and digits followed by a run of lowercase letters and
    digits, so `orderCompleted` is two words and `HTTPServer` one; anything else separates.
    """
    words: list[str] = []
    i, end = 0, len(text)
    while i < end:
        char = text[i]
        if not (char.isascii() and char.isalnum()):
            i += 1
            continue
        start = i
        while i < end and text[i].isascii() and (text[i].isupper() or text[i].isdigit()):
            i += 1
        while i < end and text[i].isascii() and (text[i].islower() or text[i].isdigit()):
            i += 1
        words.append(text[start:i].lower())
    return words


def fql_snakecase(value: Any) -> str | None:
    return "_".join(_ascii_words(value)) if type(value) is str else None


def fql_kebabcase(value: Any) -> str | None:
    return "-".join(_ascii_words(value)) if type(value) is str else None


_WORD_START = re.compile(r"(^|\s)(\S)")


def fql_titlecase(value: Any) -> str | None:
    """Capitalise the first letter of every whitespace-separated word; leave the rest."""
    if type(value) is not str:
        return None
    return _WORD_START.sub(lambda m: m[1] + m[2].upper(), value)


def fql_typeof(value: Any) -> str:
    return fql_type(value)


def fql_match(text: Any, pattern: Any) -> bool:
    if type(text) is not str or type(pattern) is not str:
        return False
    regex = _glob_from_value(pattern)
    return regex is not None and regex.fullmatch(text) is not None


_TRUE_STRINGS = frozenset({"1", "t", "T", "true", "TRUE", "True"})


def fql_bool(value: Any) -> bool:
    """Go's strconv.ParseBool spellings of true for strings; non-zero, non-empty otherwise."""
    if type(value) is str:
        return value in _TRUE_STRINGS
    if value is None:
        return False
    if type(value) is bool:
        return value
    if is_number(value):
        return bool(value != 0)
    if isinstance(value, list | tuple | dict):
        return len(value) > 0
    return False


def fql_string(value: Any) -> str:
    """Strings as they are, numbers and booleans as JSON writes them, null as ''."""
    if type(value) is str:
        return value
    if value is None:
        return ""
    if type(value) is float and value.is_integer():
        return str(int(value))
    return orjson.dumps(value, default=str).decode()


_NUMBER_TEXT = re.compile(r"\s*-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*")
_INT_TEXT = re.compile(r"\s*-?\d+\s*")


def fql_number(value: Any) -> int | float | None:
    """Numbers as they are, decimal strings parsed; anything else is null."""
    if is_number(value):
        return cast(int | float, value)
    if type(value) is not str:
        return None
    try:
        if _INT_TEXT.fullmatch(value):
            return int(value)
        if _NUMBER_TEXT.fullmatch(value):
            number = float(value)
            return number if isfinite(number) else None
    except ValueError:  # more digits than int() will read
        return None
    return None


@dataclass(frozen=True, slots=True)
class FqlFunction:
    """A built-in: its name, how many arguments it takes, and what it does."""

    name: str
    arity: int
    impl: Callable[..., Any]


FUNCTIONS: Mapping[str, FqlFunction] = {
    f.name: f
    for f in (
        FqlFunction("contains", 2, fql_contains),
        FqlFunction("length", 1, fql_length),
        FqlFunction("lowercase", 1, fql_lowercase),
        FqlFunction("uppercase", 1, fql_uppercase),
        FqlFunction("snakecase", 1, fql_snakecase),
        FqlFunction("kebabcase", 1, fql_kebabcase),
        FqlFunction("titlecase", 1, fql_titlecase),
        FqlFunction("typeof", 1, fql_typeof),
        FqlFunction("match", 2, fql_match),
        FqlFunction("bool", 1, fql_bool),
        FqlFunction("string", 1, fql_string),
        FqlFunction("number", 1, fql_number),
    )
}
"""Every function FQL knows, by name."""
