"""Size limits for the whole house (issue 14): no module over 600 lines and no function over 80 in
station/, drivers/, ui/, ledger/ and rehearsal/ — unless the comment right above the function says why
it is one function ("One function on purpose", a measured hot loop).

Why a test: long functions and modules are where a newcomer gets lost and where two rules end up
tangled; the limit keeps each change small enough to read, and the exception has to argue its case."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("station", "drivers", "ui", "ledger", "rehearsal")
MAX_MODULE, MAX_FUNCTION = 600, 80
REASON = "One function on purpose"


def _offenders() -> list[str]:
    out = []
    for pkg in PACKAGES:
        for p in sorted((ROOT / pkg).rglob("*.py")):
            if "migrations/versions" in p.as_posix():
                continue  # generated-shape Alembic scripts
            text = p.read_text(encoding="utf-8")
            lines = text.splitlines()
            where = p.relative_to(ROOT).as_posix()
            if len(lines) > MAX_MODULE:
                out.append(f"{where}: {len(lines)} lines (a module holds at most {MAX_MODULE})")
            for node in ast.walk(ast.parse(text)):
                if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                span = (node.end_lineno or node.lineno) - node.lineno + 1
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                above = "\n".join(lines[max(0, first - 4):first - 1])
                if span > MAX_FUNCTION and REASON not in above:
                    out.append(f"{where}:{node.lineno} {node.name}: {span} lines (at most {MAX_FUNCTION}, or a "
                               f"'{REASON}' comment above it saying why)")
    return out


def test_no_long_module_or_function() -> None:
    assert _offenders() == []
