"""Helpers for the check-in tests: a real Store with an event config, participants and a ticket key.

Named test_* so it sits beside the tests it serves (pytest imports it from this folder); it holds no tests.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from station.checkin import tickets
from station.log.store import Store

EVENT_ID = "wo-run-shanghai-2026"

PEOPLE: list[dict[str, Any]] = [
    {"registration_id": "R001", "bib": "101", "name": "张伟", "gender": "M", "birth_date": "1990-03-01",
     "race": "10k", "wave": "A", "chips": ["C101"], "phone": "13812341234", "email": "zhang.wei@example.com"},
    {"registration_id": "R002", "bib": "102", "name": "李娜", "gender": "F", "birth_date": "1988-07-12",
     "race": "10k", "wave": "B", "chips": [], "phone": "+86 139 0000 5678"},
    {"registration_id": "R003", "bib": "501", "name": "Zhang Wei", "gender": "M", "birth_date": "1979-01-30",
     "race": "21k", "wave": "A", "chips": ["C501"], "phone": "13700001111"},
    {"registration_id": "R004", "bib": "502", "name": "José Álvarez", "gender": "M", "birth_date": "1985-05-05",
     "race": "21k", "wave": "A", "chips": []},
]


def event_payload(public_keys: dict[str, str], **checkin: Any) -> dict[str, Any]:
    return {
        "event": {"id": EVENT_ID, "name": "WO.RUN Shanghai", "date": "2026-11-29", "timezone": "Asia/Shanghai"},
        "races": [
            {"id": "10k", "distance_m": 10000, "waves": [{"id": "A", "start": "07:30:00"},
                                                        {"id": "B", "start": "07:40:00"}]},
            {"id": "21k", "distance_m": 21097, "waves": [{"id": "A", "start": "07:00:00"}]},
        ],
        "timing_points": [],
        "checkin": {"public_keys": public_keys, "revoked_keys": [], **checkin},
    }


@dataclass
class Env:
    store: Store
    key: Any
    signer: tickets.TicketSigner
    extra_keys: dict[str, Any] = field(default_factory=dict)

    def ticket(self, reg: str = "R001", *, signer: tickets.TicketSigner | None = None, event_id: str = EVENT_ID,
               exp_in: int = 86400, iat: int | None = None, **over: Any) -> str:
        p = next((x for x in PEOPLE if x["registration_id"] == reg), {"registration_id": reg, "bib": "999",
                                                                      "race": "10k"})
        now = int(time.time()) if iat is None else iat
        claims = tickets.ticket_claims(event_id, p, iat=now, exp=now + exp_in)
        claims.update(over)
        return (signer or self.signer).sign(claims)


def make_env(tmp_path: Path, *, station_id: str | None = None, people: list[dict[str, Any]] | None = None,
             **checkin: Any) -> Env:
    store = Store(tmp_path, station_id=station_id)
    key = tickets.generate_private_key()
    store.append("event_config", event_payload({"k1": tickets.public_key_b64(key)}, **checkin), operator="lead")
    store.append_many([("participant", p) for p in (PEOPLE if people is None else people)], operator="import")
    return Env(store, key, tickets.TicketSigner(key, "k1"))
