"""The entry contract's field checks: the limits every payload obeys, the value checks a kind's field table
is made of (`ID`, `TEXT`, `MS`…, lists, nested objects) and `_fields`, which checks a payload against a
table. The tables themselves are in `station.log.contract_kinds`; `station.log.contract` explains why."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from station.errors import UserError

MAX_PAYLOAD_BYTES = 256 * 1024
MAX_DEPTH = 8
MAX_INT = 2**53
ID_BYTES = 200
TEXT_BYTES = 4096
#: an `unparsed` line keeps at most this much of its raw text in the log (the rest is journaled)
UNPARSED_RAW_BYTES = 4096
#: a read's raw line (a MYLAPS passing in its frame, an Ultra line): far below this in practice
READ_RAW_BYTES = 8192
MAX_CHIPS = 64
NUL = chr(0)
MAX_UUID_BYTES = 64


class ContractError(UserError, ValueError):
    """An own entry breaks the contract, so nothing was recorded. Reader input never gets here (it is
    bounded or diverted first); what does is typed input out of bounds (a 30-hour time adjustment, a
    5 KB reason) or a bug in the code that built the entry. A `UserError`: the CLI prints it plainly."""


@dataclass(frozen=True, slots=True)
class Problem:
    """Why an entry breaks the contract: the field at fault and a plain reason."""

    field: str
    reason: str
    too_large: bool = False

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


# --------------------------------------------------------------------------- value checks
def _utf8_len(s: str) -> int:
    """Length in UTF-8 bytes; -1 for text with a lone surrogate (no UTF-8 form at all)."""
    if s.isascii():
        return len(s)
    try:
        return len(s.encode("utf-8"))
    except UnicodeEncodeError:
        return -1


def _text(max_bytes: int, *, nonempty: bool = False, ident: bool = False) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        if type(v) is not str:
            return f"expected text, got {_tname(v)}"
        if nonempty and not v:
            return "must not be empty"
        if not v.isascii():
            n = _utf8_len(v)
            if n < 0:
                return "text with a lone surrogate (not valid UTF-8)"
            if n > max_bytes:
                return f"longer than {max_bytes} bytes (UTF-8)"
        elif len(v) > max_bytes:
            return f"longer than {max_bytes} bytes (UTF-8)"
        if ident and "\x00" in v:
            return "must not contain NUL"
        return None
    return check


def _int(lo: int = -MAX_INT, hi: int = MAX_INT) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        if type(v) is not int:
            return f"expected an integer, got {_tname(v)}"
        if not lo <= v <= hi:
            return f"out of range ({lo} … {hi})"
        return None
    return check


def _enum(*values: Any) -> Callable[[Any], str | None]:
    allowed = frozenset(values)
    shown = ", ".join(repr(x) for x in values)

    def check(v: Any) -> str | None:
        if type(v) not in (str, type(None), bool) or v not in allowed:
            return f"expected one of {shown}"
        return None
    return check


def _bool(v: Any) -> str | None:
    return None if type(v) is bool else f"expected true or false, got {_tname(v)}"


def _nullable(inner: Callable[[Any], str | None]) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        return None if v is None else inner(v)
    return check


def _id_list(v: Any) -> str | None:
    if type(v) is not list:
        return f"expected a list of ids, got {_tname(v)}"
    if len(v) > MAX_CHIPS:
        return f"more than {MAX_CHIPS} items"
    for x in v:
        p = ID(x)
        if p:
            return f"item {x!r:.40}: {p}"
    return None


def _date(v: Any) -> str | None:
    if v is None or v == "":
        return None
    if type(v) is not str or len(v) != 10:
        return "expected a date YYYY-MM-DD"
    try:
        dt.date.fromisoformat(v)
    except ValueError:
        return "expected a date YYYY-MM-DD"
    return None


def _object(v: Any) -> str | None:
    return None if type(v) is dict else f"expected an object, got {_tname(v)}"


def _object_list(v: Any) -> str | None:
    if type(v) is not list:
        return f"expected a list, got {_tname(v)}"
    return None


def _tname(v: Any) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false", int: "an integer",
            float: "a number", type(None): "null"}.get(type(v), type(v).__name__)


ID = _text(ID_BYTES, nonempty=True, ident=True)  # registration ids, chips, readers, points, races…
REF = _text(ID_BYTES, ident=True)  # an id that may be empty (a bib not known, the default wave)
TEXT = _text(TEXT_BYTES)
MS = _int()  # UTC milliseconds or a signed duration: any exact JSON integer
UUID = _text(MAX_UUID_BYTES, nonempty=True, ident=True)
OPERATOR = _text(ID_BYTES, ident=True)

Spec = dict[str, tuple[bool, Callable[[Any], str | None]]]  # field → (required, check)


def _s(required: dict[str, Callable[[Any], str | None]],
       optional: dict[str, Callable[[Any], str | None]] | None = None) -> Spec:
    out: Spec = {k: (True, c) for k, c in required.items()}
    out.update({k: (False, c) for k, c in (optional or {}).items()})
    return out


def _fields(spec: Spec, p: dict[str, Any], prefix: str = "payload.") -> Problem | None:
    for k, (required, check) in spec.items():
        if k not in p:
            if required:
                return Problem(prefix + k, "missing")
            continue
        why = check(p[k])
        if why:
            return Problem(prefix + k, why)
    return None


def _num(lo: float, hi: float) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        if type(v) not in (int, float):
            return f"expected a number, got {_tname(v)}"
        if not lo <= v <= hi:
            return f"out of range ({lo:g} … {hi:g})"
        return None
    return check


def _hms(v: Any) -> str | None:
    from station.event.config import parse_hms

    try:
        parse_hms(v)
    except (ValueError, AttributeError, TypeError):
        return "expected a time of day H:MM:SS[.fff]"
    return None


def _list_of(check_item: Callable[[Any], str | None], max_items: int = 1000) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        if type(v) is not list:
            return f"expected a list, got {_tname(v)}"
        if len(v) > max_items:
            return f"more than {max_items} items"
        for i, x in enumerate(v):
            why = check_item(x)
            if why:
                return f"item {i + 1}: {why}"
        return None
    return check


def _obj(spec: Spec) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        if type(v) is not dict:
            return f"expected an object, got {_tname(v)}"
        p = _fields(spec, v, "")
        return f"{p.field}: {p.reason}" if p else None
    return check


def _zone(v: Any) -> str | None:
    from zoneinfo import ZoneInfo

    if type(v) is not str or not v or "\x00" in v or len(v) > 100:
        return "expected an IANA time zone"
    try:
        ZoneInfo(v)
    except Exception:  # ZoneInfoNotFoundError, ValueError on odd paths
        return "expected an IANA time zone"
    return None


def _map_of(check_value: Callable[[Any], str | None]) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        if type(v) is not dict:
            return f"expected an object, got {_tname(v)}"
        for k, x in v.items():
            why = ID(k) or check_value(x)
            if why:
                return f"{k!r:.40}: {why}"
        return None
    return check
