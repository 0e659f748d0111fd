"""Setup commands: loading the event file and saving a reader, for the CLI and the app's Setup screen.

Why here: both front doors load the same event file and configure the same readers; the checks (the
file's contract, "unchanged" detection, a Timy's channel map) must agree, so they live once in the
domain core. Refusals are `CommandError`s (translatable template + values, see
`station.timing.commands`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from station.event.config import load_event_file
from station.log.entry_log import EntryLog, appended
from station.log.latest import latest
from station.timing.bindings import ReaderBinding
from station.timing.commands import CommandError


def load_event(store: EntryLog, path: Path, operator: str) -> tuple[str, dict[str, Any]]:
    """Validate the event file and store it (`store_event`). An invalid file raises `InputErrors` naming
    every problem, and nothing is stored."""
    payload = load_event_file(path)
    return store_event(store, payload, operator), payload


def store_event(store: EntryLog, payload: dict[str, Any], operator: str) -> str:
    """Append a validated event configuration, and its `[[readers]]`, when it differs from the current one.
    Returns ``"loaded"``, ``"updated"`` or ``"unchanged"``."""
    current = latest(store.entries(kinds=["event_config"]))
    if current is not None and current.payload == payload:
        return "unchanged"
    store.append_many([("event_config", payload), *(("reader_config", rd) for rd in payload.get("readers") or [])],
                      operator=operator)
    return "updated" if current is not None else "loaded"


def add_participants(store: EntryLog, payloads: list[dict[str, Any]], operator: str, timeout: float = 600.0) -> int:
    """Append participant rows already checked against the event (`station.people.participants.parse_rows`, or a
    simulator's own), as one batch. Returns how many."""
    store.submit_batch([("participant", dict(p), None) for p in payloads], operator=operator).result(timeout)
    return len(payloads)


def check_channel_waves(mapping: Mapping[str, str]) -> dict[str, str]:
    """An ALGE Timy's channel → ``race/wave`` map: at least one channel, each wave's gun on one channel
    (two channels firing one gun would make the second impulse move the start)."""
    out = {str(ch): str(w) for ch, w in mapping.items() if w}
    if not out:
        raise CommandError("channels", "A Timy needs at least one channel mapped to a wave's gun.")
    seen: dict[str, str] = {}
    for ch, wave in out.items():
        if wave in seen:
            raise CommandError("channels", "Channels {a} and {b} both fire the gun of {wave}: map each wave once.",
                               a=seen[wave], b=ch, wave=wave)
        seen[wave] = ch
    return out


def save_reader(store: EntryLog, binding: ReaderBinding, operator: str) -> Any:
    """Check a reader's settings and append its `reader_config` (the latest per reader id wins)."""
    if binding.format == "timy":
        binding.channel_waves = check_channel_waves(binding.channel_waves)
    binding.validate()
    return appended(store.append("reader_config", binding.config_payload(), operator=operator))


#: pyserial URL handlers a reader port may use (`serial.serial_for_url`)
PORT_URL_SCHEMES = ("loop", "socket", "rfc2217", "spy", "hwgrep", "alt", "cp2110")


def port_problem(port: str | None) -> CommandError | None:
    """Why a reader's serial port may not work on this computer, or None when it looks right.

    A pyserial URL (`loop://`, `socket://host:port`, `rfc2217://…`) is fine; so is a port the system lists
    or a device path that exists. Anything else gets a warning the user confirms before saving: a USB
    adapter may be plugged in later, so this is never a refusal."""
    name = (port or "").strip()
    if not name:
        return None
    if "://" in name:
        scheme = name.split("://", 1)[0].lower()
        if scheme in PORT_URL_SCHEMES:
            return None
        return CommandError("port", "Port {port}: '{scheme}://' is not a port address this station knows "
                                    "(use COM3, /dev/ttyUSB0, socket://host:port or rfc2217://host:port).",
                            port=name, scheme=scheme)
    from serial.tools import list_ports

    found = sorted(p.device for p in list_ports.comports())
    if name in found or Path(name).exists():
        return None
    return CommandError("port", "Serial port {port} is not on this computer now (ports found: {found}). Plug in "
                                "the reader's USB adapter and press Find ports, or save anyway if it will be "
                                "plugged in later.", port=name, found=", ".join(found) or "—")
