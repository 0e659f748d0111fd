"""Size limits in ui/ (issue 14): no function over 80 lines, no module over 600 — a screen is built by
named `_build_*` helpers, and cohesive parts live in their own modules."""

from __future__ import annotations

import ast
from pathlib import Path

UI = Path(__file__).resolve().parents[2] / "ui"


def test_no_long_function_or_module_in_ui() -> None:
    too_long = []
    for p in sorted(UI.rglob("*.py")):
        text = p.read_text(encoding="utf-8")
        if len(text.splitlines()) > 600:
            too_long.append(f"{p.relative_to(UI.parent)}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                span = (node.end_lineno or node.lineno) - node.lineno + 1
                if span > 80:
                    too_long.append(f"{p.relative_to(UI.parent)}:{node.lineno} {node.name}: {span} lines")
    assert too_long == []
