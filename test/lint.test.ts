// Proves the lint guards fire (eslint.config.mjs, .dependency-cruiser.cjs), on small probes rather
// than on the real tree, so the test does not depend on the current state of the code base.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ESLint } from 'eslint';

const ROOT = path.resolve(__dirname, '..');

// The probes are linted from memory (lintText) under paths that do not exist on disk. Type-aware
// linting needs a TS program for them: the project service gives such paths a default project,
// allowed here for the probe paths only (not in the project's config).
const PROBE = '__lint_probe__.ts';
const PROBE_PATHS = [`src/${PROBE}`, `src/services/${PROBE}`, `workflows/${PROBE}`];

describe('lint guards', function () {
  describe('eslint', function () {
    let eslint: ESLint;

    async function lint(relPath: string, code: string): Promise<{ ruleId: string | null; message: string; line: number }[]> {
      const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, relPath) });
      assert.ok(result, `no lint result for ${relPath}`);
      const fatal = result.messages.filter((m) => m.fatal);
      assert.deepEqual(fatal, [], `${relPath} did not parse`);
      return result.messages.map(({ ruleId, message, line }) => ({ ruleId, message, line }));
    }

    const ruleLines = (messages: { ruleId: string | null; line: number }[], ruleId: string) => messages.filter((m) => m.ruleId === ruleId).map((m) => m.line);

    before(async function () {
      // The first type-aware lint loads the whole TypeScript project once (~20 s of CPU).
      this.timeout(300_000);
      eslint = new ESLint({
        cwd: ROOT,
        overrideConfig: {
          files: [`**/${PROBE}`],
          languageOptions: { parserOptions: { projectService: { allowDefaultProject: PROBE_PATHS }, tsconfigRootDir: ROOT } },
        },
      });
      await lint(`src/${PROBE}`, 'export const warm = 1;\n');
    });

    it('reports a floating promise under src/', async function () {
      const messages = await lint(
        `src/${PROBE}`,
        [
          'async function save(): Promise<void> {}',
          'export function handler(): void {',
          '  save();',
          '}',
          'export async function ok(): Promise<void> {',
          '  await save();',
          '  void save();',
          '}',
          '',
        ].join('\n'),
      );
      assert.deepEqual(ruleLines(messages, '@typescript-eslint/no-floating-promises'), [3]);
    });

    it('forbids Node built-ins in workflows/, with the sandbox message', async function () {
      const messages = await lint(
        `workflows/${PROBE}`,
        ["import fs from 'node:fs';", "import { randomUUID } from 'crypto';", 'export const x = [fs, randomUUID];', ''].join('\n'),
      );
      const restricted = messages.filter((m) => m.ruleId === '@typescript-eslint/no-restricted-imports');
      assert.deepEqual(
        restricted.map((m) => m.line),
        [1, 2],
      );
      for (const m of restricted) assert.match(m.message, /workflows are deterministic sandboxed code: no Node built-ins/);
    });

    it('forbids value imports from outside workflows/ but allows type imports and the workflow SDK', async function () {
      const messages = await lint(
        `workflows/${PROBE}`,
        [
          "import { proxyActivities } from '@temporalio/workflow';", // 1: allowed
          "import type { Activities } from '../activities';", // 2: allowed (type-only)
          "import { failureInfo } from './shared';", // 3: allowed (inside workflows/)
          "import { createActivities } from '../activities';", // 4: forbidden
          "import { loadConfig } from '../src/config';", // 5: forbidden
          "import { sneaky } from './nested/../../src/config';", // 6: forbidden (leaves workflows/)
          'export const refs = [proxyActivities<Activities>, failureInfo, createActivities, loadConfig, sneaky];',
          '',
        ].join('\n'),
      );
      assert.deepEqual(ruleLines(messages, '@typescript-eslint/no-restricted-imports'), [4, 5, 6]);
    });

    it('forbids services from importing the HTTP layer', async function () {
      const messages = await lint(
        `src/services/${PROBE}`,
        ["import { AppError } from '../api/errors';", "import { db } from '../db';", 'export const refs = [AppError, db];', ''].join('\n'),
      );
      const restricted = messages.filter((m) => m.ruleId === '@typescript-eslint/no-restricted-imports');
      assert.deepEqual(
        restricted.map((m) => m.line),
        [1],
      );
      assert.match(restricted[0]?.message ?? '', /services must not depend on the HTTP layer/);
    });
  });

  describe('dependency-cruiser', function () {
    it('reports a type-only cycle, a services → api import and a value import into workflows/', async function () {
      this.timeout(60_000);
      const { cruise } = await import('dependency-cruiser');
      const { default: extractDepcruiseOptions } = await import('dependency-cruiser/config-utl/extract-depcruise-options');
      const options = await extractDepcruiseOptions(path.join(ROOT, '.dependency-cruiser.cjs'));

      // A throwaway tree shaped like the project, so the rules' paths (src/, workflows/) apply.
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'aimake-depcruise-'));
      try {
        const files: Record<string, string> = {
          // a → b is type-only: it only counts because of tsPreCompilationDeps.
          'src/a.ts': "import type { B } from './b';\nexport const a = 1;\nexport type A = { b: B };\n",
          'src/b.ts': "import { a } from './a';\nexport type B = number;\nexport const b: B = a;\n",
          'src/api/errors.ts': 'export class AppError extends Error {}\n',
          'src/services/users.ts': "import { AppError } from '../api/errors';\nexport const e = new AppError();\n",
          'workflows/flow.ts': "import { b } from '../src/b';\nimport type { A } from '../src/a';\nexport const f = (x: A) => [x, b];\n",
        };
        for (const [file, text] of Object.entries(files)) {
          await fs.mkdir(path.join(dir, path.dirname(file)), { recursive: true });
          await fs.writeFile(path.join(dir, file), text);
        }
        // The project's tsconfig.json is not in the throwaway tree; plain relative imports need none.
        const { tsConfig: _tsConfig, ...rest } = options;
        const { output } = await cruise(['src', 'workflows'], { ...rest, baseDir: dir, outputType: 'json' });
        const result = typeof output === 'string' ? JSON.parse(output) : output;
        const violations = (result.summary.violations as { rule: { name: string }; from: string; to: string }[]).map(
          (v) => `${v.rule.name}: ${v.from} -> ${v.to}`,
        );
        // A cycle is reported once, from whichever of its modules the cruise met first.
        const cycles = violations.filter((v) => v.startsWith('no-circular: '));
        assert.equal(cycles.length, 1, violations.join('\n'));
        assert.match(cycles[0] ?? '', /^no-circular: src\/(a|b)\.ts -> src\/(a|b)\.ts$/);
        assert.deepEqual(violations.filter((v) => !v.startsWith('no-circular: ')).sort(), [
          'services-not-to-api: src/services/users.ts -> src/api/errors.ts',
          'workflows-only-workflow-sdk: workflows/flow.ts -> src/b.ts',
        ]);
      } finally {
        await fs.rm(dir, { recursive: true, force: true });
      }
    });
  });
});
