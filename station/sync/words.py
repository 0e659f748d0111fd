"""A sync problem in words a volunteer can act on, from `station.sync`'s plain-English `last_error`.

Why a separate table: the sync engine says what went wrong in English (its CLI prints it as is); the
app shows the same problem in the desk's language with what to do next. Each known message becomes an
English template with named values (translated by the app); anything else is shown as it came.
"""

from __future__ import annotations

import re

CAUSES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^cannot reach the ledger at (?P<url>\S+) \(no network or ledger down\)"),
     "Cannot reach the ledger at {url}: no network, or the ledger is down. Nothing is lost: the station "
     "keeps everything and syncs when the network is back."),
    (re.compile(r"^the ledger at (?P<url>\S+) did not answer within (?P<s>\S+) s"),
     "The ledger at {url} did not answer within {s} s (slow network): the station tries again by itself."),
    (re.compile(r"^the connection to the ledger at (?P<url>\S+) was interrupted"),
     "The connection to the ledger at {url} was interrupted: the station tries again by itself."),
    (re.compile(r"^the ledger refused this station's token"),
     "The ledger refused this station's token: ask the organizer for a new token and enter it in Setup."),
    (re.compile(r"^this token belongs to station '?(?P<other>[^',]+)'?, but this station is '?(?P<me>[^';]+)'?"),
     "This token belongs to station {other}, but this station is {me}: ask the organizer for a token for "
     "{me} and enter it in Setup."),
    (re.compile(r"^this token is for event '?(?P<event>[^',]+)'?, but this station holds event '?(?P<local>[^']+)'?"),
     "This token is for event {event}, but this station holds event {local}: check the ledger token and "
     "the event loaded in Setup."),
    (re.compile(r"^the ledger does not know this event"),
     "The ledger does not know this event yet: ask the organizer to register it on the ledger."),
    (re.compile(r"^the ledger refused:"),
     "The ledger refused this station's data: ask the organizer to check the station's token and role."),
    (re.compile(r"^the ledger had a problem \(HTTP (?P<code>\d+)\)"),
     "The ledger had a problem (HTTP {code}): the station tries again by itself; tell the organizer if it "
     "lasts."),
    (re.compile(r"^CONFLICT"),
     "The ledger holds different entries for this station: stop syncing and tell the organizer (nothing is "
     "lost on this laptop)."),
)

TEMPLATES = tuple(t for _, t in CAUSES)


def sync_problem(text: str) -> tuple[str, dict[str, str]]:
    """The template and values for a sync error; ("{why}", {"why": text}) when it is not one we know."""
    text = re.sub(r"^sync failed( on this station)?: ", "", (text or "").strip())
    for pattern, template in CAUSES:
        m = pattern.search(text)
        if m:
            return template, {k: v for k, v in m.groupdict().items() if v is not None}
    return "{why}", {"why": text}
