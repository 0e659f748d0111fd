"""Timing screen "Ask reader to resend": the reader's replay is asked for, or the timer is told why not."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from station.errors import UserError
from ui.modes.reader_jobs import ask_resend


class _Replaying:
    def __init__(self) -> None:
        self.asked = 0

    def request_replay(self) -> int:
        self.asked += 1
        return 1


class _NoReplay:
    def request_replay(self) -> int:
        return 0  # Ipico, Timy, MYLAPS: nothing to ask


def test_resend_asks_the_running_reader() -> None:
    r = _Replaying()
    d = SimpleNamespace(readers={"fin": r})
    assert ask_resend(d, "fin") == 1 and r.asked == 1


def test_resend_explains_when_it_cannot() -> None:
    with pytest.raises(UserError, match="Start reader"):
        ask_resend(SimpleNamespace(readers={}), "fin")
    with pytest.raises(UserError, match="capture file"):
        ask_resend(SimpleNamespace(readers={"fin": _NoReplay()}), "fin")
