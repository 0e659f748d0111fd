"""Adapters to timing hardware. Imports nothing of the station and never Qt (DESIGN: drivers → nothing).

`FORMATS` maps the CLI's `--format` names to reader protocols.
"""

from __future__ import annotations

from drivers.base import Protocol, Resume

FORMATS = ("ultra", "raceresult", "mylaps", "ipico", "timy")


def protocol_for(fmt: str) -> Protocol:
    """A fresh protocol object (they keep a little per-connection state) for a format name."""
    if fmt == "ultra":
        from drivers.ultra import Ultra

        return Ultra()
    if fmt == "raceresult":
        from drivers.raceresult import RaceResult

        return RaceResult()
    if fmt == "mylaps":
        from drivers.mylaps import Mylaps

        return Mylaps()
    if fmt == "ipico":
        from drivers.ipico import Ipico

        return Ipico()
    if fmt == "timy":
        from drivers.timy import Timy

        return Timy()
    raise ValueError(f"unknown reader format {fmt!r}; expected one of {', '.join(FORMATS)}")


__all__ = ["FORMATS", "Protocol", "Resume", "protocol_for"]
