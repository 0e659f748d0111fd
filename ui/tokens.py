"""The ledger station token, kept out of the settings file and out of the UI.

Why: QSettings are plain text (an .ini file or the registry) that other programs and screenshots of
Setup can read. The token goes to its own file beside the settings, readable by the owner only where
the OS supports it, and Setup never shows it again after saving (type a new one to replace it).
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings

LEGACY_KEY = "sync/token"


def token_path(settings: QSettings) -> Path:
    if settings.format() == QSettings.Format.IniFormat:
        return Path(settings.fileName()).with_name("ledger-token")
    from platformdirs import user_config_dir

    return Path(user_config_dir("WO.RUN Station", "WO.RUN")) / (settings.applicationName() + "-ledger-token")


def save_token(settings: QSettings, token: str) -> None:
    p = token_path(settings)
    p.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
    fd = os.open(p, flags, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(token)
    settings.remove(LEGACY_KEY)
    settings.setValue("sync/token_saved", bool(token))


def load_token(settings: QSettings) -> str:
    legacy = str(settings.value(LEGACY_KEY, "") or "")
    if legacy:  # an older station kept it in the settings: move it out
        save_token(settings, legacy)
        return legacy
    try:
        return token_path(settings).read_text(encoding="utf-8").strip()
    except OSError:
        return ""
