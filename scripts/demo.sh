#!/usr/bin/env bash
# The one demo command (`make demo`): create the virtualenv if needed, build the Gaohang
# demo year on SQLite and serve it on http://127.0.0.1:8000. Extra arguments go to
# `townops demo` (e.g. --no-serve, --seed 7).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh
exec "$VENV/bin/townops" demo "$@"
