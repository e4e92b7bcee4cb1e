#!/usr/bin/env bash
# `npm run test:node24`: the build test and a few key tests on Node.js 24 (installed into .tools/
# by the toolchain when needed), whatever Node runs npm. The full suite stays on the machine's Node.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/toolchain.sh --quiet --node24
# First on PATH, so what the tests spawn (npm run build, the built worker) runs on Node 24 too.
export PATH="$PWD/.tools/node24/bin:$PATH"
echo "test:node24: node $(node --version)"
exec node node_modules/mocha/bin/mocha.js --no-config -r tsx/cjs -r test/setup.ts --extension ts --timeout 60000 --exit \
  test/build.test.ts test/schema.test.ts test/api/accounts.test.ts test/generation/apiFirst.test.ts
