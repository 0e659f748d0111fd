"""A reader's connection problem in words a timer can act on, from the driver's raw reason.

Why here (Qt-free): the drivers report why a port is down in the terms of the operating system
("cannot open /dev/ttyUSB0: [Errno 2] could not open port …: No such file or directory"); a timer at the
finish needs to know what happened and what to do. Each known cause becomes an English template with
named values (the app shows its zh_CN translation); anything else is shown as it came.
"""

from __future__ import annotations

import re

#: (pattern on the raw reason, template). The first match wins; named groups fill the template.
CAUSES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^cannot open (?P<port>\S+): .*(No such file|FileNotFoundError|cannot find the file|"
                r"could not find|not exist)", re.I),
     "Port {port} not found: plug in the reader's cable or USB adapter, or pick the right port in Setup. "
     "The station keeps trying."),
    (re.compile(r"^cannot open (?P<port>\S+): .*(Permission denied|Access is denied|PermissionError|busy|"
                r"in use|exclusive)", re.I),
     "Port {port} is in use or not allowed: close the other program using it (or, on Linux, add this "
     "user to the dialout group). The station keeps trying."),
    (re.compile(r"^cannot open (?P<port>socket://\S+): ", re.I),
     "Cannot reach {port}: check the network cable and the reader's address. The station keeps trying."),
    (re.compile(r"^cannot open (?P<port>\S+): (?P<detail>.*)$", re.I),
     "Cannot open {port} ({detail}). Check the cable and the port in Setup; the station keeps trying."),
    (re.compile(r"^(?P<port>\S+): port went away", re.I),
     "The cable of {port} was unplugged: plug it back in; the station reconnects by itself."),
    (re.compile(r"cable unplugged|unplugged", re.I),
     "The reader's cable is unplugged: plug it back in; the station reconnects by itself."),
    (re.compile(r"^listening on (?P<address>\S+), no decoder yet", re.I),
     "Listening on {address}: no decoder has connected yet (check the decoder's host address and port)."),
    (re.compile(r"^decoder (?P<peer>\S+) left: (?P<detail>.*)$", re.I),
     "Decoder {peer} disconnected ({detail}): waiting for it to connect again."),
    (re.compile(r"^cannot listen on (?P<address>\S+): (?P<detail>.*)$", re.I),
     "Cannot listen on {address} ({detail}): another program may be using that port; close it or pick "
     "another port in Setup."),
    (re.compile(r"^not opened yet$", re.I), "Opening the port…"),
    (re.compile(r"^stopped$", re.I), "Stopped by the operator."),
    (re.compile(r"^(?P<port>\S+): (?P<detail>.*)$"),
     "Lost {port} ({detail}): check the cable; the station reconnects by itself."),
)

#: the reader's clock against the station's (`IngestStatus.clock_warning`)
DRIFT = (
    (re.compile(r"^clock drift (?P<ms>[+-]?\d+) ms vs confirmed offset$"),
     "Reader clock drifted {ms} ms from its confirmed offset: check the reader's clock, then Set clock offset."),
    (re.compile(r"^clock drift (?P<ms>[+-]?\d+) ms vs station clock$"),
     "Reader clock is {ms} ms off the station's: set the reader's clock, or confirm the offset with Set clock "
     "offset."),
)

TEMPLATES = tuple(t for _, t in CAUSES) + tuple(t for _, t in DRIFT)


def connection_problem(why: str) -> tuple[str, dict[str, str]]:
    """The template and values for a driver's reason; ("{why}", {"why": why}) when it is not one we know."""
    why = (why or "").strip()
    for pattern, template in CAUSES:
        m = pattern.search(why)
        if m:
            return template, {k: v for k, v in m.groupdict().items() if v is not None}
    return "{why}", {"why": why}


def clock_problem(warning: str) -> tuple[str, dict[str, str]]:
    """The template and values for a clock warning; ("{why}", {"why": warning}) when it is not one we know."""
    warning = (warning or "").strip()
    for pattern, template in DRIFT:
        m = pattern.search(warning)
        if m:
            return template, m.groupdict()
    return "{why}", {"why": warning}
