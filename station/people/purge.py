"""Purge of personal data after an event (China's PIPL).

Birth dates, phones and emails are removed from participant entries; the category computed from the
birth date is kept in the payload so results (which are public) stay exactly the same. This is the
only place the station rewrites stored entries, and it does so because the law requires the data to
be gone, not hidden.
"""

from __future__ import annotations

from typing import Any

from station.event.config import EventConfig
from station.results.timefmt import category

PERSONAL_KEYS = ("birth_date", "phone", "email")


def purge_personal_data(store: Any, cfg: EventConfig) -> int:
    def scrub(p: dict[str, Any]) -> dict[str, Any] | None:
        if not any(p.get(k) for k in PERSONAL_KEYS):
            return None
        out = dict(p)
        if "category" not in out:
            out["category"] = category(p.get("gender") or "X", p.get("birth_date"), cfg.date,
                                       cfg.age_groups, cfg.age_basis)
        for k in PERSONAL_KEYS:
            out[k] = None
        return out

    return store.rewrite_payloads("participant", scrub)
