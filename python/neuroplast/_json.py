"""JSON parsing with the nesting-depth limit of the resource policy (``max_json_depth``).

The depth is measured before parsing by a scan that skips string literals, so a document
nested a million levels deep is refused in linear time instead of raising ``RecursionError``
from the parser.
"""

from __future__ import annotations

import json
import re
from typing import Any

from neuroplast.errors import NeuroplastError
from neuroplast.limits import get_limits

__all__ = ["depth_exceeds", "loads"]

_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def depth_exceeds(raw: bytes, limit: int) -> bool:
    """Whether the JSON text ``raw`` nests arrays/objects deeper than ``limit``."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    depth = 0
    for match in _TOKENS.finditer(raw):
        c = match.group()
        if c in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif c in (b"]", b"}"):
            depth -= 1
    return False


def loads(text: str | bytes, error: type[NeuroplastError], what: str) -> Any:
    """``json.loads(text)``, or ``error`` naming ``what`` for invalid or too deeply nested text.

    Example:
        >>> from neuroplast.errors import SpecError
        >>> loads('{"a": [1, 2]}', SpecError, "a spec")
        {'a': [1, 2]}
    """
    if isinstance(text, str):
        raw = text.encode("utf-8", "surrogatepass")
    elif isinstance(text, (bytes, bytearray, memoryview)):
        raw = bytes(text)
    else:
        raise error(f"{what} must be JSON text (str or bytes), got {type(text).__name__}")
    limit = get_limits().max_json_depth
    if depth_exceeds(raw, limit):
        raise error(f"{what} nests deeper than the max_json_depth limit of {limit}")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, ValueError) as exc:
        raise error(f"{what} is not valid JSON: {exc}") from exc
