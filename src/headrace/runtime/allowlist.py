"""The standard-library modules a function may import.

A friendly early error for users, not a security boundary: the OS lockdown is that.
Every module here is imported by the zygote, so a worker never reads a file to import one.
"""

from __future__ import annotations

ALLOWED_MODULES: frozenset[str] = frozenset(
    {
        "asyncio",
        "base64",
        "binascii",
        "bisect",
        "calendar",
        "cmath",
        "collections",
        "collections.abc",
        "copy",
        "csv",
        "dataclasses",
        "datetime",
        "decimal",
        "difflib",
        "email.utils",
        "enum",
        "fractions",
        "functools",
        "hashlib",
        "heapq",
        "hmac",
        "html",
        "ipaddress",
        "itertools",
        "json",
        "math",
        "numbers",
        "operator",
        "random",
        "re",
        "secrets",
        "statistics",
        "string",
        "struct",
        "textwrap",
        "time",
        "typing",
        "unicodedata",
        "urllib.parse",
        "uuid",
        "zlib",
        "zoneinfo",
    }
)

# Parents of allowed submodules: `from urllib import parse` names "urllib".
_PARENTS: frozenset[str] = frozenset(
    name.rsplit(".", 1)[0] for name in ALLOWED_MODULES if "." in name
)


def forbidden_import(name: str, fromlist: tuple[str, ...] | list[str] | None = None) -> str | None:
    """The module name that may not be imported, or None when the import is allowed."""
    if name in ALLOWED_MODULES:
        return None
    if name in _PARENTS:
        if not fromlist:
            # `import urllib` alone gives nothing useful and opens the whole package.
            return name
        for item in fromlist:
            full = f"{name}.{item}"
            if full not in ALLOWED_MODULES:
                return full
        return None
    return name
