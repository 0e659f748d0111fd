"""The side journal: reader lines that are not log entries, kept as text beside the database."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger("station.timing.ingest")


class SideJournal:
    """Lines that carry no read (heartbeats, status, clock answers) are not log entries, yet every line
    received is kept: they go to `<data>/journal/<reader>.log` as `rx<TAB>port<TAB>line`."""

    def __init__(self, store: Any, reader_id: str) -> None:
        base = getattr(store, "data_dir", None)
        self.path = None
        if base is not None:
            safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in reader_id)
            self.path = Path(base) / "journal" / f"{safe}.log"
        self._fh: Any = None
        self._lock = threading.Lock()

    def write(self, rx: int, port: str, lines: list[str], *, unsaved: bool = False) -> None:
        """Append lines; `unsaved`: lines the database refused, kept in `<reader>.unsaved.log`."""
        if self.path is None:
            return
        with self._lock:
            try:
                if unsaved:
                    path = self.path.with_suffix(".unsaved.log")
                    path.parent.mkdir(parents=True, exist_ok=True)
                    with open(path, "a", encoding="utf-8", newline="\n") as fh:
                        fh.write("".join(f"{rx}\t{x}\n" for x in lines))
                    return
                if self._fh is None:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    self._fh = open(self.path, "a", encoding="utf-8", newline="\n")
                self._fh.write("".join(f"{rx}\t{port}\t{x}\n" for x in lines))
                self._fh.flush()
            except OSError as e:
                log.warning("side journal %s: %s", self.path, e)

    def close(self) -> None:
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None
