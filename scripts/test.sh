#!/usr/bin/env bash
# The one test command (`make test`): set-up, lint, types, then the suite on SQLite and on
# PostgreSQL. Works on a fresh machine: creates the virtualenv and starts PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
PG_URL="${TOWNOPS_PG_TEST_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/townops_test}"

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
stamp="$VENV/.installed-$(sha1sum pyproject.toml | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -e '.[dev]'
  touch "$stamp"
fi
export PATH="$PWD/$VENV/bin:$PATH"

echo "== lint (ruff) and types (mypy --strict)"
ruff check src tests bench
ruff format --check src tests bench
mypy

echo "== tests on SQLite"
TOWNOPS_TEST_DATABASE_URL="" pytest -p no:cacheprovider "$@"

echo "== tests on PostgreSQL ($PG_URL)"
scripts/services.sh
TOWNOPS_TEST_DATABASE_URL="$PG_URL" pytest -p no:cacheprovider "$@"
