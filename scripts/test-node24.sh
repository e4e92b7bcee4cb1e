#!/usr/bin/env bash
# `npm run test:node24`: the whole suite (`npm test`) on Node.js 24, installed into .tools/ by the
# toolchain when needed, whatever Node runs npm; as CI runs it (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/toolchain.sh --quiet --node24
export AIMAKE_MACHINE_NODE="${AIMAKE_MACHINE_NODE:-$(command -v node)}"
# First on PATH, so what the tests spawn (npm run build, the built worker) runs on Node 24 too.
export PATH="$PWD/.tools/node24/bin:$PATH"
echo "test:node24: node $(node --version)"
exec npm test
