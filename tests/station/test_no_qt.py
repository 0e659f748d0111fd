"""The domain core and the drivers never load Qt (DESIGN: station/ and drivers/ import no Qt)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("station", "drivers")
# Alembic scripts run only inside alembic (env.py needs its context); they are grepped below.
SKIP = re.compile(r"^station\.(log\.migrations\.(env|versions(\..*)?)|cli\.__main__)$")
QT_IMPORT = re.compile(r"^\s*(from|import)\s+(PySide6|shiboken6|PyQt5|PyQt6)\b", re.M)

SCRIPT = r"""
import importlib, json, pkgutil, re, sys
skip = re.compile(sys.argv[1])
mods, failed = [], {}
for pkg in sys.argv[2:]:
    p = importlib.import_module(pkg)
    names = [pkg] + [m.name for m in pkgutil.walk_packages(p.__path__, pkg + ".")]
    for name in names:
        if skip.match(name):
            continue
        try:
            importlib.import_module(name)
            mods.append(name)
        except Exception as e:
            failed[name] = f"{type(e).__name__}: {e}"
qt = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6", "PyQt5", "PyQt6"))
print(json.dumps({"modules": mods, "failed": failed, "qt": qt}))
"""


def test_importing_every_module_loads_no_qt() -> None:
    proc = subprocess.run([sys.executable, "-c", SCRIPT, SKIP.pattern, *PACKAGES], cwd=ROOT,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "station.results.engine" in res["modules"]
    assert "station.cli" in res["modules"]
    assert any(m.startswith("drivers.") for m in res["modules"])
    assert res["qt"] == [], f"Qt loaded by station/drivers: {res['qt']}"
    assert res["failed"] == {}, f"modules that fail to import: {res['failed']}"


def test_sources_have_no_qt_imports() -> None:
    offenders = []
    for pkg in PACKAGES:
        for f in sorted((ROOT / pkg).rglob("*.py")):
            text = f.read_text(encoding="utf-8")
            for m in QT_IMPORT.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                offenders.append(f"{f.relative_to(ROOT)}:{line}: {m.group(0).strip()}")
    assert offenders == []


def test_headless_cli_verb_does_not_load_qt(tmp_path: Path) -> None:
    code = ("import sys; from station.cli import main; rc = main(['--data', sys.argv[1], 'info']);"
            "bad = [m for m in sys.modules if m.startswith(('PySide6', 'shiboken6'))];"
            "print('QT', bad); sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "QT []" in proc.stdout
