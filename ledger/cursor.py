"""The pull cursor: an opaque string encoding a per-station seq vector `{station_id: last_seq}`.

Why a vector and not a global row id: with several server processes committing at once, row ids become
visible out of order, so "everything after id N" could skip a row committed late with a smaller id.
Each station's stream is gap-free, so "everything after seq N of station S" can never skip.
"""

from __future__ import annotations

import base64
import binascii
import json


class BadCursor(ValueError):
    pass


def encode(vector: dict[str, int]) -> str:
    raw = json.dumps(vector, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode(cursor: str | None) -> dict[str, int]:
    if not cursor:
        return {}
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as e:
        raise BadCursor("the cursor is not one this ledger gave out") from e
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and v >= 0
        for k, v in data.items()
    ):
        raise BadCursor("the cursor is not one this ledger gave out")
    return data
