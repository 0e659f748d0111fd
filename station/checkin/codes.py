"""What a code typed or scanned at a check-in desk is: a ticket to verify, or a bib/name to look up.

Why: a barcode scanner (or a volunteer typing fast) delivers a bib like `1011` in the same fast burst
as a QR ticket, and refusing it as "INVALID TICKET" sends the runner to the back of the queue for
nothing. A WO.RUN ticket is a JWT — three dot-separated parts, a few hundred characters — so a short
code without dots can never be one: it is looked up instead. Anything else that arrives as a scanner
burst (a random QR code, a URL) is still verified, so the desk says why it is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: A bib is at most this long (bib numbers, or a letter prefix and digits: `1011`, `A1234`, `M0042`).
BIB_MAX = 8


def looks_like_ticket(text: str) -> bool:
    """A JWT typed or pasted slowly is still a ticket, not a name."""
    t = text.strip()
    return t.count(".") == 2 and len(t) > 40 and " " not in t


def looks_like_bib(text: str) -> bool:
    """Short, ASCII letters and digits, at least one digit: `1011`, `A123` (never a ticket)."""
    t = text.strip()
    return 0 < len(t) <= BIB_MAX and t.isascii() and t.isalnum() and any(c.isdigit() for c in t)


def desk_action(text: str, burst: bool) -> str:
    """`"scan"` (verify as a ticket) or `"search"` (look up a bib, name, phone…) for what arrived at the
    desk; `burst`: it came as a scanner's fast burst of keys."""
    if looks_like_ticket(text):
        return "scan"
    if burst and not looks_like_bib(text):
        return "scan"
    return "search"


def exact_bib_hit(query: str, hits: Sequence[Any]) -> Any | None:
    """The one search hit whose bib *is* the query (a unique bib), else None. `hits`: SearchResults."""
    q = query.strip().casefold()
    same = [h for h in hits if h.participant.bib.casefold() == q]
    return same[0] if len(same) == 1 else None
