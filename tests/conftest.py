"""Shared by every test folder: waiting for something to happen, the one way.

Tests of live parts (readers, sync, the app) wait for an outcome, never for a fixed time: a fixed sleep
is either too short on a loaded CI machine (a flake) or too long everywhere else (a slow suite).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest


def poll_until(pred: Callable[[], Any], timeout: float = 5.0, interval: float = 0.02) -> bool:
    """True as soon as `pred()` is truthy; False when `timeout` seconds pass first (one last look)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(interval)
    return bool(pred())


@pytest.fixture
def wait_for() -> Callable[..., bool]:
    """`assert wait_for(lambda: …, timeout)`: the shared poll (see `poll_until`)."""
    return poll_until
