#!/usr/bin/env bash
# Make sure the servers the tests need are up: PostgreSQL, and the MQTT broker Mosquitto on
# 127.0.0.1:1883 (start them, install them if absent). Used by `make test` and .ci/run; safe
# to run again.
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

# --- Mosquitto (MQTT) -------------------------------------------------------------------------
mqtt_up() { timeout 2 bash -c '</dev/tcp/127.0.0.1/1883' 2>/dev/null; }
mosquitto_bin() { command -v mosquitto || { [ -x /usr/sbin/mosquitto ] && echo /usr/sbin/mosquitto; }; }

# The clients (mosquitto_pub / mosquitto_sub) are what bench/sensing.py measures the broker with.
if ! mosquitto_bin >/dev/null || ! command -v mosquitto_pub >/dev/null 2>&1; then
  echo "services: Mosquitto is not installed; installing Debian's mosquitto and mosquitto-clients" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq mosquitto mosquitto-clients >/dev/null
fi

if ! mqtt_up; then
  echo "services: starting Mosquitto" >&2
  # Without systemd nobody makes the directories Debian's configuration writes to.
  if id mosquitto >/dev/null 2>&1; then
    install -d -o mosquitto -g mosquitto /run/mosquitto /var/log/mosquitto /var/lib/mosquitto
  fi
  # The configuration townops ships (bounded but deep queues: Debian's stock file keeps only
  # 1,000 messages per session, fewer than a stopped ingester misses in a minute of load).
  "$(mosquitto_bin)" -d -c "$(dirname "$0")/../deploy/mosquitto/townops.conf" || true
  for _ in $(seq 1 20); do mqtt_up && break; sleep 0.5; done
fi

if ! mqtt_up; then
  echo "services: Mosquitto did not come up on 127.0.0.1:1883" >&2
  exit 1
fi
echo "services: Mosquitto is up"
