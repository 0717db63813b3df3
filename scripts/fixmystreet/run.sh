#!/usr/bin/env bash
# Drive a small townops demo with FixMyStreet's OWN Open311 client (perllib/Open311.pm, run
# unchanged; its FixMyStreet database modules are stubbed in stubs/). Not part of `make test`:
# it needs Debian's Perl packages and a FixMyStreet checkout. See README.md here.
#
#   scripts/fixmystreet/run.sh              # prints PASS/FAIL per step and the totals
#   scripts/fixmystreet/run.sh --fixtures   # … and rewrites tests/open311/fixmystreet/
#
# FMS_REPO: a FixMyStreet git repository (default: the mirror this machine keeps);
# FMS_COMMIT: the commit to take the client from; FMS_WORK: scratch directory.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
export FMS_WORK="${FMS_WORK:-/tmp/fms}"
FMS_REPO="${FMS_REPO:-/work/.mirror/mysociety+fixmystreet/repo}"
FMS_COMMIT="${FMS_COMMIT:-84d7c80c5d9abd0d330325742c6b9eedc30b19fd}"
PORT="${FMS_PORT:-8311}"
TOWNOPS="$ROOT/.venv/bin/townops"
PACKAGES="libwww-perl libxml-simple-perl libmoo-perl libmoox-types-mooselike-perl libdatetime-perl
  libdatetime-format-w3cdtf-perl libpath-tiny-perl libtry-tiny-perl libreadonly-perl liburi-perl
  libparallel-forkmanager-perl libhttp-message-perl libxml-parser-perl"

if ! perl -MXML::Simple -MMoo -MLWP::UserAgent -MDateTime::Format::W3CDTF -e1 2>/dev/null; then
  echo "== installing the Perl modules FixMyStreet's client uses (apt)"
  apt-get install -y -qq $PACKAGES >/dev/null
fi

mkdir -p "$FMS_WORK/perllib/Open311" "$FMS_WORK/img"
for file in Open311.pm Open311/GetServiceRequestUpdates.pm Open311/UpdatesBase.pm Open311/GetUpdates.pm; do
  git --git-dir="$FMS_REPO" show "$FMS_COMMIT:perllib/$file" > "$FMS_WORK/perllib/$file"
done
echo "$FMS_COMMIT" > "$FMS_WORK/FMS_COMMIT"
"$ROOT/.venv/bin/python" - "$FMS_WORK/img" <<'PY'
import sys
from PIL import Image
for name, colour in (("a", (200, 40, 40)), ("b", (40, 160, 60)), ("resolved", (40, 60, 200))):
    Image.new("RGB", (64, 48), colour).save(f"{sys.argv[1]}/{name}.jpeg", "JPEG")
PY

export TOWNOPS_DATABASE_URL="sqlite:///$FMS_WORK/demo.db"
cd "$FMS_WORK"
stop() {
  if [ -f server.pid ] && kill -0 "$(cat server.pid)" 2>/dev/null; then
    kill "$(cat server.pid)"
    for _ in $(seq 30); do kill -0 "$(cat server.pid)" 2>/dev/null || break; sleep 0.5; done
  fi
  rm -f server.pid
  if curl -s -o /dev/null "http://127.0.0.1:$PORT/"; then
    echo "port $PORT is still in use: set FMS_PORT"; exit 1
  fi
}
start() {
  nohup "$TOWNOPS" serve --port "$PORT" > "$FMS_WORK/server.log" 2>&1 &
  echo $! > "$FMS_WORK/server.pid"
  for _ in $(seq 30); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/open311/v2/discovery.json" && return; sleep 1; done
  echo "server did not start"; cat server.log; exit 1
}
trap stop EXIT
stop
rm -rf capture state.json demo.db demo.db-wal demo.db-shm
(cd "$ROOT" && "$TOWNOPS" demo --no-serve --db "$FMS_WORK/demo.db" --cases 300 --no-devices > "$FMS_WORK/demo.log" 2>&1)
(cd "$ROOT" && "$TOWNOPS" api-key create fms) | tail -1 | tr -d '[:space:]' > apikey.txt
export FMS_BASE="http://127.0.0.1:$PORT"
export PERL_HASH_SEED=0 PERL_PERTURB_KEYS=0   # the same field order in every run
start
status=0
FMS_STEPS=abcdefgh perl -I "$HERE/stubs" -I perllib "$HERE/harness.pl" 2>&1 | tee run.log || status=$?
# Step (i) probes how many ids fit in one GET: past 64 KiB of URL the HTTP server refuses,
# a documented limit (docs/open311.md), so its outcome is printed, not the exit status.
echo "== restarting the server (a fresh look-up limiter) for step (i)"
stop; start
FMS_STEPS=i perl -I "$HERE/stubs" -I perllib "$HERE/harness.pl" 2>&1 | tee -a run.log || true
if [ "${1:-}" = "--fixtures" ]; then "$ROOT/.venv/bin/python" "$HERE/write_fixtures.py"; fi
exit "$status"
