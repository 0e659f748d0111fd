"""Shield None, True and False from a PySide6 reference-count bug on Python 3.11.

The cause of "Fatal Python error: bool_dealloc / none_dealloc … Garbage-collecting" (exit 134) at
quit or after a long session: PySide6-Essentials 6.12.0 returns `None` from void methods (e.g.
`QTimer.start`, `QObject.setObjectName`, `processEvents`) and `True` from `SignalInstance.emit` /
`disconnect` *without a new reference*. Every such call steals one reference from the singleton; the
app emits thousands of signals a minute (the demo lost ~5 references of `True` and ~40 of `None` a
second), so after some minutes the count reaches zero and CPython aborts — usually inside a garbage
collection or at interpreter shutdown, when the last references go. Python 3.12+ is immune (these
objects are immortal there); 6.11.x does not have the bug. `pyproject.toml` excludes 6.12.0 on 3.11;
this guard covers a laptop that already has it installed.

`shield()` measures the leak once (a few emits of a private signal) and, only when it is real, adds a
huge constant to the three singletons' reference counts — what Python 3.12 does by design. They are
static objects that are never freed anyway, so nothing else changes.
"""

from __future__ import annotations

import ctypes
import logging
import sys

from PySide6.QtCore import QObject, QTimer, Signal

log = logging.getLogger(__name__)

BALLAST = 1 << 48  # references added: ~2.8e14, centuries of leaking at any plausible rate


class _Probe(QObject):
    sig = Signal(int)


def leaks() -> bool:
    """True when this PySide6 build steals references from True or None."""
    p = _Probe()
    t = QTimer()
    before = sys.getrefcount(True), sys.getrefcount(None)
    for _ in range(16):
        p.sig.emit(0)
        t.setInterval(1000)  # a void method
    after = sys.getrefcount(True), sys.getrefcount(None)
    return after[0] < before[0] - 8 or after[1] < before[1] - 8


def shield() -> bool:
    """Make None/True/False effectively immortal when this PySide6 leaks them; True if it did."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False  # immortal already
    if not leaks():
        return False
    for obj in (None, True, False):
        ref = ctypes.c_ssize_t.from_address(id(obj))  # ob_refcnt, the first field of every object
        ref.value += BALLAST
    import PySide6

    log.warning("PySide6 %s leaks references to None/True on this Python: shielded (upgrade or pin "
                "PySide6-Essentials 6.11)", PySide6.__version__)
    return True
