#!/usr/bin/env bash
# The one test command (`make test`): set-up, lint, types, then the suite on SQLite and on
# PostgreSQL. Works on a fresh machine: creates the virtualenv and starts PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_URL="${TOWNOPS_PG_TEST_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/townops_test}"

. scripts/_venv.sh
export PATH="$PWD/$VENV/bin:$PATH"

echo "== lint (ruff), types (mypy --strict), layers (import-linter)"
ruff check --no-cache src tests bench
ruff format --no-cache --check src tests bench
mypy
echo "== layers (lint-imports, .importlinter)"
lint-imports --no-cache

# PostgreSQL for the second pass, Mosquitto for the MQTT tests of both passes.
scripts/services.sh
# Debian's Chromium (and a CJK font) for the real-browser tests in tests/browser.
scripts/browser.sh

echo "== tests on SQLite"
TOWNOPS_TEST_DATABASE_URL="" pytest -p no:cacheprovider --durations=25 "$@"

echo "== tests on PostgreSQL ($PG_URL)"
TOWNOPS_TEST_DATABASE_URL="$PG_URL" pytest -p no:cacheprovider --durations=25 "$@"
