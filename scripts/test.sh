#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh machine, then run the whole suite.
#   system packages (Debian/Ubuntu, when run as root): socat, poppler-utils, PostgreSQL, Xvfb, faketime
#   a virtualenv in .venv with the project and its test extras
#   a PostgreSQL cluster for the ledger's production path (scripts/postgres.sh)
# Extra arguments go to pytest (e.g. `bash scripts/test.sh tests/station -x`).
# Without extra arguments the date-sensitive parts of the suite (tests/station, tests/e2e, tests/drivers)
# run a second time with the clock 400 days ahead (libfaketime): no test may depend on the calendar.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(socat poppler-utils postgresql faketime chromium chromium-driver fonts-wqy-microhei xvfb xauth fontconfig libegl1 libxkbcommon0 libxkbcommon-x11-0 libgl1 libglib2.0-0 libdbus-1-3
      libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-xinerama0 libxcb-cursor0 libxcb-shape0)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing system packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "== missing system packages (install them, then run again): ${missing[*]}" >&2
  fi
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  "$PY" -m venv .venv
fi
echo "== installing the project (.venv)"
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
.venv/bin/python -m pip install -q -e '.[test]' 2>&1 | grep -vE '^(WARNING|  )' || true

if [ -f scripts/postgres.sh ]; then
  # shellcheck source=/dev/null
  source scripts/postgres.sh
fi

echo "== ruff"
.venv/bin/ruff check .
echo "== import boundaries (import-linter)"
.venv/bin/lint-imports
echo "== type hints (mypy; the exception list in pyproject.toml only shrinks)"
.venv/bin/mypy
echo "== pytest"
export QT_QPA_PLATFORM=offscreen
if [ $# -gt 0 ]; then
  exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
fi
.venv/bin/python -m pytest -q -p no:cacheprovider
echo "== pytest again, the clock 400 days ahead (faketime): tests/station tests/e2e tests/drivers"
if command -v faketime >/dev/null; then
  # Prove the clock really moved for Python (libfaketime preloaded), or the second run proves nothing.
  real_day=$(.venv/bin/python -c 'import time; print(int(time.time() // 86400))')
  fake_day=$(FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f '+400d' .venv/bin/python -c 'import time; print(int(time.time() // 86400))')
  if [ $((fake_day - real_day)) -lt 399 ]; then
    echo "== faketime did not move Python's clock (day $real_day → $fake_day)" >&2
    exit 1
  fi
  # Only the calendar moves: with the monotonic clock faked too, libfaketime's timed waits
  # (threading.Event.wait) sleep for the 400 days. Uptime has its own test (tests/station/test_memtrim.py).
  # tests/faketime/sitecustomize.py works around libfaketime breaking time.sleep in that mode.
  FAKETIME_DONT_FAKE_MONOTONIC=1 PYTHONPATH="$PWD/tests/faketime${PYTHONPATH:+:$PYTHONPATH}" \
    faketime -f '+400d' .venv/bin/python -m pytest -q -p no:cacheprovider tests/station tests/e2e tests/drivers
elif [ "${CI:-}" = true ]; then
  echo "== faketime is missing (apt-get install faketime): the run 400 days ahead cannot be made" >&2
  exit 1
else
  echo "== faketime not installed: skipping the run 400 days ahead" >&2
fi
