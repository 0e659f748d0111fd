"""Helpers shared by the reader driver tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

from pathlib import Path

from drivers import protocol_for
from drivers.records import Record

FIXTURES = Path(__file__).with_name("fixtures")


def parse_capture(fmt: str, data: bytes, chunk: int | None = None) -> list[tuple[str, list[Record]]]:
    """Frame and parse a capture the way a port would (optionally fed in small chunks)."""
    proto = protocol_for(fmt)
    framer = proto.framer()
    lines: list[str] = []
    if chunk:
        for i in range(0, len(data), chunk):
            lines += framer.feed(data[i : i + chunk])
    else:
        lines += framer.feed(data)
    lines += framer.flush()
    return [(line, proto.parse(line)) for line in lines]


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def kinds(parsed: list[tuple[str, list[Record]]]) -> list[str]:
    return [type(r).__name__ for _, recs in parsed for r in recs]
