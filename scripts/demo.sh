#!/usr/bin/env bash
# The one demo command (`make demo`): create the virtualenv if needed, build the Gaohang
# demo year on SQLite and serve it on http://127.0.0.1:8000. Extra arguments go to
# `townops demo` (e.g. --no-serve, --seed 7).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
stamp="$VENV/.installed-$(sha1sum pyproject.toml | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -e '.[dev]'
  touch "$stamp"
fi
exec "$VENV/bin/townops" demo "$@"
