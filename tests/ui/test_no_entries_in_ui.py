"""The app is a front door, not a second rule book: `ui/` never builds a log entry itself.

Every entry the app writes goes through a domain command in `station/` (timing, setup, check-in), the
same ones the CLI calls, so the two can never disagree on a check. And every refusal those commands
can raise has a zh_CN translation, because the app shows it to a volunteer.
"""

from __future__ import annotations

import ast
import json
import string
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPEND_METHODS = {"append", "append_many", "submit", "submit_batch", "submit_run", "append_run"}


def _entry_writes(path: Path) -> list[str]:
    """Calls like `x.store.append("kind", …)` / `store.submit(...)` / `st.append_many(...)` in a module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in APPEND_METHODS:
            continue
        owner = ast.unparse(node.func.value)
        first = node.args[0] if node.args else None
        names_a_kind = isinstance(first, ast.Constant) and isinstance(first.value, str)
        if names_a_kind or owner.split(".")[-1] in ("store", "st"):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)[:80]}")
    return found


def test_ui_appends_no_entry_itself() -> None:
    offenders = [w for p in sorted((ROOT / "ui").rglob("*.py")) for w in _entry_writes(p)]
    assert offenders == [], "ui/ builds entries; call a station/ command instead:\n" + "\n".join(offenders)


def _command_templates() -> set[str]:
    out = set()
    for name in ("timing/commands.py", "event/commands.py", "checkin/tickets.py", "checkin/desk.py"):
        tree = ast.parse((ROOT / "station" / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("CommandError", "CheckinError"):
                tmpl = node.args[1]
                assert isinstance(tmpl, ast.Constant), ast.unparse(node)
                out.add(tmpl.value)
    return out


def test_every_command_refusal_is_translated() -> None:
    zh = json.loads((ROOT / "resources" / "translations" / "zh_CN.json").read_text(encoding="utf-8"))
    templates = _command_templates()
    assert len(templates) >= 10
    missing = sorted(t for t in templates if t not in zh)
    assert missing == [], f"add zh_CN translations for: {missing}"
    for t in templates:  # a translation keeps every placeholder, so .format(**params) fills it
        fields = {f[1] for f in string.Formatter().parse(t) if f[1]}
        assert fields == {f[1] for f in string.Formatter().parse(zh[t]) if f[1]}, t
