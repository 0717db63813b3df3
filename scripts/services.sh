#!/usr/bin/env bash
# Make sure the PostgreSQL server the tests need is up (start it, install it if absent).
# Used by `make test` and .ci/run; safe to run again.
set -euo pipefail

pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }

if ! command -v pg_isready >/dev/null 2>&1 || ! ls /etc/postgresql >/dev/null 2>&1; then
  echo "services: PostgreSQL is not installed; installing Debian's postgresql" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
fi

if ! pg_up; then
  echo "services: starting PostgreSQL" >&2
  version="$(ls /etc/postgresql | sort -V | tail -1)"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi

if ! pg_up; then
  echo "services: PostgreSQL did not come up on 127.0.0.1:5432" >&2
  exit 1
fi

# Trust auth as user postgres is the machine's set-up; fall back to the local socket as the
# postgres OS user when TCP trust is not configured.
if ! psql -h 127.0.0.1 -U postgres -Atc "select 1" >/dev/null 2>&1; then
  echo "services: cannot log in as postgres over TCP; check pg_hba.conf (trust for 127.0.0.1)" >&2
  exit 1
fi
echo "services: PostgreSQL is up"
