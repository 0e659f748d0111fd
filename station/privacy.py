"""Masking helpers for personal data shown at a desk (China's PIPL).

A volunteer needs just enough to tell two runners apart or to confirm a phone with its owner
("ending 1234?"), never the whole number: a desk screen is seen by everyone in the queue. So phones keep
their first three and last four digits (the form Chinese apps use, `138****1234`) and emails keep one or
two leading characters and the domain.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_NON_DIGIT = re.compile(r"\D+")


def phone_digits(phone: str | None) -> str:
    """Digits only, without a leading +86/0086 country code (so suffix search matches any spelling)."""
    if not phone:
        return ""
    d = _NON_DIGIT.sub("", str(phone))
    if len(d) == 13 and d.startswith("86"):
        d = d[2:]
    elif len(d) == 15 and d.startswith("0086"):
        d = d[4:]
    return d


def mask_phone(phone: str | None) -> str:
    """`13812341234` → `138****1234`; short or foreign numbers keep only their last 4 digits."""
    d = phone_digits(phone)
    if not d:
        return ""
    if len(d) >= 11:
        return d[:3] + "*" * (len(d) - 7) + d[-4:]
    if len(d) > 4:
        return "*" * (len(d) - 4) + d[-4:]
    return "*" * len(d)


def mask_email(email: str | None) -> str:
    """`zhang.wei@example.com` → `zh***@example.com`; a value without `@` is masked whole."""
    if not email:
        return ""
    email = str(email).strip()
    local, at, domain = email.rpartition("@")
    if not at or not local:
        return "*" * min(len(email), 8)
    keep = 1 if len(local) <= 3 else 2
    return local[:keep] + "***@" + domain


def is_public(participant: Mapping[str, Any] | None) -> bool:
    """A runner is shown by name in public (pages, published lists) unless they opted out: the
    participants CSV's `public` column set to `no` stores `public: false`."""
    return not participant or participant.get("public") is not False


def hide_opted_out(rows: list[dict[str, Any]], participants: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Results rows for publication: a runner who opted out appears as `Runner <bib>`, without club."""
    out = []
    for r in rows:
        if not is_public(participants.get(str(r.get("registration_id") or ""))):
            r = {**r, "name": f"Runner {r.get('bib')}", "club": ""}
        out.append(r)
    return out
