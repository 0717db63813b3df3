#!/usr/bin/env bash
# Make sure the browser the real-browser tests drive is on the machine: Debian's chromium,
# its matching chromium-driver, and fonts-noto-cjk (without a CJK font headless Chromium
# draws Chinese as empty boxes). Installs with apt only what is missing; safe to run again.
# Used by `make test` (scripts/test.sh) and so by .ci/run.
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
dpkg-query -W -f='${Status}' fonts-noto-cjk 2>/dev/null | grep -q "ok installed" \
  || missing+=(fonts-noto-cjk)
# pdftotext / pdftoppm: the health-check report tests read the PDF's text back.
command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "browser: missing ${missing[*]} and cannot install them (needs root and apt-get);" \
      "the browser tests will be skipped" >&2
    exit 0
  fi
  echo "browser: installing Debian's ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "browser: $(/usr/bin/chromium --version 2>/dev/null || echo 'chromium not runnable')"
