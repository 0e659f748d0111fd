"""F1 lists the shortcuts; the ledger token is kept out of the settings file and out of the UI."""

from __future__ import annotations

import os
import sys
from typing import Any

from ui.tokens import load_token, token_path


def test_f1_lists_the_shortcuts(qtbot: Any, window: Any) -> None:
    dlg = window.help_dialog()
    from PySide6.QtWidgets import QTableWidget

    table = dlg.findChild(QTableWidget, "shortcuts")
    keys = [table.item(i, 0).text() for i in range(table.rowCount())]
    assert {"F1", "F2", "F3", "F4", "Ctrl+Z", "Space"} <= set(keys)
    dlg.deleteLater()


def test_token_is_saved_aside_and_never_shown(qtbot: Any, window: Any) -> None:
    setup = window.modes["setup"]
    setup.ledger.setText("https://ledger.example")
    setup.token.setText("secret-token-123")
    setup.save_other()
    assert "Saved" in setup.other_status.text() or setup.other_status.text() == "已保存。"
    assert setup.token.text() == ""  # not shown again
    assert "hidden" in setup.token.placeholderText()
    s = window.settings
    s.sync()
    assert s.value("sync/token") is None
    assert "secret-token-123" not in open(s.fileName(), encoding="utf-8").read()
    assert load_token(s) == "secret-token-123"
    if sys.platform != "win32":
        assert os.stat(token_path(s)).st_mode & 0o077 == 0
    setup.ledger.setText("https://ledger.example")
    setup.save_other()  # saving again without retyping keeps the token
    assert load_token(s) == "secret-token-123"
