"""Verdict and alarm sounds: small WAV files generated with the `wave` module, played without blocking.

Why distinct tones: a volunteer looking at the runner, not the screen, must hear the verdict — a bright
rising chirp for ok, a double beep for already, a low buzz for invalid, a two-tone for unknown, and a
siren-like alarm when a reader goes silent. PySide6-Essentials has no QtMultimedia, so playback uses
the platform's own player (winsound on Windows, afplay on macOS, paplay/aplay on Linux) through
`QProcess` — never blocking the GUI thread. `played` is emitted for every request (tests listen to it).
"""

from __future__ import annotations

import math
import shutil
import struct
import sys
import wave
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, Signal

from ui.assets import SOUNDS, sound_path

RATE = 22_050

# name → list of (frequency Hz, duration s); frequency 0 is silence
TONES: dict[str, list[tuple[float, float]]] = {
    "ok": [(880, 0.08), (1320, 0.14)],
    "already": [(660, 0.12), (0, 0.06), (660, 0.12)],
    "invalid": [(180, 0.45)],
    "unknown": [(520, 0.15), (780, 0.15)],
    "alarm": [(1000, 0.18), (700, 0.18), (1000, 0.18), (700, 0.18)],
    "stamp": [(1500, 0.04)],
}


def synth(tones: list[tuple[float, float]], volume: float = 0.6) -> bytes:
    """16-bit mono PCM with short fades (no clicks)."""
    out = bytearray()
    for freq, dur in tones:
        n = int(RATE * dur)
        fade = max(1, int(RATE * 0.008))
        for i in range(n):
            env = min(1.0, i / fade, (n - i) / fade)
            v = 0.0 if freq == 0 else math.sin(2 * math.pi * freq * i / RATE)
            if freq and freq < 300:  # a buzz: add odd harmonics so it sounds wrong, not soft
                v = 0.7 * v + 0.3 * math.sin(6 * math.pi * freq * i / RATE)
            out += struct.pack("<h", int(32767 * volume * env * v))
    return bytes(out)


def generate(folder: Path = SOUNDS, overwrite: bool = False) -> list[Path]:
    """Write every sound as a WAV file (idempotent)."""
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for name, tones in TONES.items():
        p = folder / f"{name}.wav"
        if p.exists() and not overwrite:
            continue
        with wave.open(str(p), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(RATE)
            w.writeframes(synth(tones))
        made.append(p)
    return made


class SoundPlayer(QObject):
    """Plays a named sound asynchronously; `enabled` off (tests, a quiet desk) still emits `played`."""

    played = Signal(str)

    def __init__(self, enabled: bool = True, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.enabled = enabled
        self._procs: list[QProcess] = []
        self._cmd = self._find_player()

    @staticmethod
    def _find_player() -> list[str] | None:
        if sys.platform == "win32":
            return None  # winsound
        for exe, args in (("afplay", []), ("paplay", []), ("aplay", ["-q"])):
            path = shutil.which(exe)
            if path:
                return [path, *args]
        return None

    def play(self, name: str) -> None:
        self.played.emit(name)
        if not self.enabled:
            return
        path = sound_path(name)
        if not path.exists():
            return
        if sys.platform == "win32":
            import winsound

            winsound.PlaySound(str(path), winsound.SND_FILENAME | winsound.SND_ASYNC)
            return
        if self._cmd is None:
            return
        proc = QProcess(self)
        proc.finished.connect(lambda *_: self._reap(proc))
        self._procs.append(proc)
        proc.start(self._cmd[0], [*self._cmd[1:], str(path)])

    def _reap(self, proc: QProcess) -> None:
        if proc in self._procs:
            self._procs.remove(proc)
        proc.deleteLater()


if __name__ == "__main__":  # regenerate the shipped sounds
    for p in generate(overwrite=True):
        print(p)
