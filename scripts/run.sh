#!/usr/bin/env bash
# Run the station: set up .venv (like scripts/test.sh, without the test extras) and open the app.
# With no reader hardware configured (no serial port and no WORUN_STATION_READERS), it opens the demo:
# a generated race with simulated readers and check-ins. Extra arguments go to `worun-station`.
#   bash scripts/run.sh                # demo (or the app when a reader is attached)
#   bash scripts/run.sh app            # the app on your own data folder
# Idempotent and quick on the second run: the install only happens when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.worun-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || ! .venv/bin/python -c "import station, ui, PySide6" 2>/dev/null; then
  echo "== installing the project (.venv)"
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
  .venv/bin/python -m pip install -q -e . 2>&1 | grep -vE '^(WARNING|  )' || true
  touch "$stamp"
fi

# Qt's X11 plugin (Qt ≥ 6.5) needs these xcb libraries; install them like scripts/test.sh installs its own.
XPKGS=(libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-xkb1
       libxkbcommon-x11-0 libxcb-randr0 libxcb-shape0 libxcb-xinerama0 libegl1 libgl1 fontconfig)
if [ "$(uname)" = Linux ] && command -v dpkg-query >/dev/null; then
  xmissing=()
  for p in "${XPKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || xmissing+=("$p")
  done
  if [ ${#xmissing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "== installing libraries Qt needs on X11: ${xmissing[*]}"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${xmissing[@]}" >/dev/null
    else
      echo "== Qt needs on X11: sudo apt-get install ${xmissing[*]}" >&2
    fi
  fi
fi

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && [ "$(uname)" = Linux ] && [ -z "${QT_QPA_PLATFORM:-}" ]; then
  if command -v Xvfb >/dev/null; then
    echo "== no display: starting Xvfb on :99 (view it with a VNC or use a desktop session)"
    (Xvfb :99 -screen 0 1600x1000x24 >/dev/null 2>&1 &)
    export DISPLAY=:99
  fi
fi

if [ $# -gt 0 ]; then
  exec .venv/bin/worun-station "$@"
fi
has_reader() {
  [ -n "${WORUN_STATION_READERS:-}" ] && return 0
  .venv/bin/python - <<'PY' 2>/dev/null
import sys
from serial.tools import list_ports
ports = [p for p in list_ports.comports() if p.vid is not None]  # USB-serial adapters only
sys.exit(0 if ports else 1)
PY
}
if has_reader; then
  echo "== reader hardware found: opening the station"
  exec .venv/bin/worun-station app
fi
echo "== no reader hardware: opening the demo (simulated race)"
exec .venv/bin/worun-station demo
