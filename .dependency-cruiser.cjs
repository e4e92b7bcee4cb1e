// dependency-cruiser (v17) architecture rules. Run with:
//   npx depcruise --config .dependency-cruiser.cjs src activities workflows test bench
// (part of `npm run lint`). test/lint.test.ts proves no-circular fires on a real cycle.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Circular dependencies (type-only ones included) make load order fragile and modules impossible to reason about alone.',
      from: { path: '^(src|activities|workflows|test|bench|web/src)/' },
      to: { circular: true },
    },
    {
      name: 'services-not-to-api',
      severity: 'error',
      comment: 'services must not depend on the HTTP layer (src/api).',
      from: { path: '^src/services/' },
      to: { path: '^src/api/' },
    },
    {
      name: 'workflows-only-workflow-sdk',
      severity: 'error',
      comment:
        'workflows are deterministic sandboxed code: at run time they may only use @temporalio/workflow and other files in workflows/. ' +
        'Type-only imports (`import type`) from anywhere are fine: they are erased before bundling.',
      from: { path: '^workflows/' },
      to: {
        pathNot: ['^workflows/', '(^|/)node_modules/@temporalio/workflow/'],
        dependencyTypesNot: ['type-only', 'type-import'],
      },
    },
    {
      name: 'no-orphans',
      severity: 'ignore',
      comment: 'Off: entry points (src/bin, tests, migrations, bench) are orphans by design.',
      from: { orphan: true },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Count dependencies that vanish after compilation (`import type`, type-only usage): type-only cycles count too.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    skipAnalysisNotInRules: true,
  },
};
