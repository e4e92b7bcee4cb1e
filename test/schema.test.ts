import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { createKnex, migrationConfig } from '../src/db';
import { emptyDatabase } from './helpers/db';

/**
 * The migrations must reproduce section 2 of the seed design exactly. We build one database from
 * the seed's own SQL and one from the migrations, and compare what PostgreSQL reports for both.
 * Objects the migrations add beyond the seed are allowed; anything of the seed's that differs or
 * is missing fails.
 */
const ROOT = path.resolve(__dirname, '..');
const SEED_COPY = path.join(ROOT, 'docs/seed-schema.md');
const SHARED_SEED = path.join(ROOT, '../shared/seed/000_006a0b0dbeb73d3c.txt');

function seedSection2Sql(): string {
  const doc = fs.readFileSync(SEED_COPY, 'utf8');
  const section = doc.slice(doc.indexOf('## 二、'), doc.indexOf('## 三、'));
  const blocks = [...section.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.ok(blocks.length >= 8, 'expected a SQL block per table in section 2');
  return blocks.join('\n');
}

type Rows = Record<string, unknown>[];
const key = (r: Record<string, unknown>) => JSON.stringify(r);

async function describe_(url: string) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const q = async (sql: string) => (await c.query(sql)).rows as Rows;
  try {
    return {
      columns: await q(`
        SELECT table_name, column_name, data_type, udt_name, character_maximum_length, numeric_precision,
               numeric_scale, column_default, is_nullable, ordinal_position
        FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`),
      // Constraint names differ by who generated them (users_email_key vs users_email_unique), so
      // keys are compared by kind, table, columns and rules.
      keys: await q(`
        SELECT tc.constraint_type, tc.table_name,
               string_agg(kcu.column_name, ',' ORDER BY kcu.ordinal_position) AS columns,
               max(ccu.table_name) AS ref_table, max(ccu.column_name) AS ref_column, max(rc.delete_rule) AS on_delete
        FROM information_schema.table_constraints tc
        JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema
        LEFT JOIN information_schema.referential_constraints rc ON rc.constraint_name = tc.constraint_name
        LEFT JOIN information_schema.constraint_column_usage ccu ON ccu.constraint_name = tc.constraint_name AND tc.constraint_type = 'FOREIGN KEY'
        WHERE tc.table_schema = 'public' AND tc.constraint_type IN ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY')
        GROUP BY tc.constraint_type, tc.table_name, tc.constraint_name`),
      // Named indexes compare whole (name, table, definition); constraint-backed ones by definition.
      indexes: (
        await q(`
        SELECT i.indexname, i.tablename, i.indexdef, c.conname IS NOT NULL AS from_constraint
        FROM pg_indexes i LEFT JOIN pg_constraint c ON c.conname = i.indexname
        WHERE i.schemaname = 'public'`)
      ).map((r) =>
        r.from_constraint ? { table: r.tablename, def: String(r.indexdef).replace(/INDEX \S+ ON/, 'INDEX ON') } : { table: r.tablename, def: r.indexdef },
      ),
      views: await q(
        `SELECT table_name AS view_name, pg_get_viewdef(table_name::regclass, true) AS def FROM information_schema.views WHERE table_schema = 'public'`,
      ),
      voices: await q(`SELECT id, name, name_zh, provider, gender, language, style, is_premium, is_active, sort_order FROM voices ORDER BY id`),
    };
  } finally {
    await c.end();
  }
}

function assertContains(actual: Rows, expected: Rows, what: string) {
  const have = new Set(actual.map(key));
  const missing = expected.filter((r) => !have.has(key(r)));
  assert.deepEqual(missing, [], `${what} of the seed missing or different in the migrated database`);
}

describe('database schema', function () {
  this.timeout(120_000);
  let seedUrl: string;
  let migratedUrl: string;

  before(async () => {
    seedUrl = await emptyDatabase('seed');
    const c = new pg.Client({ connectionString: seedUrl });
    await c.connect();
    await c.query(seedSection2Sql());
    await c.end();

    migratedUrl = await emptyDatabase('migrated');
    const knex = createKnex(migratedUrl, 2);
    await knex.migrate.latest(migrationConfig());
    await knex.destroy();
  });

  it('keeps the vendored seed identical to the shared design', function () {
    if (!fs.existsSync(SHARED_SEED)) this.skip();
    assert.equal(fs.readFileSync(SEED_COPY, 'utf8'), fs.readFileSync(SHARED_SEED, 'utf8'));
  });

  it('reproduces every object of the seed section 2', async () => {
    const seed = await describe_(seedUrl);
    const migrated = await describe_(migratedUrl);

    const views = new Set(seed.views.map((v) => v.view_name));
    assert.equal(new Set(seed.columns.map((c) => c.table_name).filter((t) => !views.has(t))).size, 8, 'the seed defines eight tables');
    assertContains(migrated.columns, seed.columns, 'columns');
    assertContains(migrated.keys, seed.keys, 'keys');
    assertContains(migrated.indexes, seed.indexes, 'indexes');
    assertContains(migrated.views, seed.views, 'views');
    assert.equal(seed.voices.length, 8);
    assertContains(migrated.voices, seed.voices, 'voice rows');
    // The comparison is only meaningful if it covers the seed's objects.
    assert.ok(seed.columns.length > 90 && seed.keys.length >= 17 && seed.indexes.length >= 25);
  });

  it('allows one account per Google or GitHub identity', async () => {
    const knex = createKnex(migratedUrl, 2);
    try {
      await knex('users').insert({ email: 'a@example.test', google_id: 'g-1', github_id: 'h-1' });
      await assert.rejects(knex('users').insert({ email: 'b@example.test', google_id: 'g-1' }), /uq_users_google_id/);
      await assert.rejects(knex('users').insert({ email: 'c@example.test', github_id: 'h-1' }), /uq_users_github_id/);
      await knex('users').insert([{ email: 'd@example.test' }, { email: 'e@example.test' }]); // no identity: no conflict
    } finally {
      await knex('users').delete();
      await knex.destroy();
    }
  });

  it('migrates up, down and up again cleanly', async () => {
    const knex = createKnex(migratedUrl, 2);
    try {
      await knex.migrate.rollback(migrationConfig(), true);
      const left = await knex.raw(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE 'knex_%'`);
      assert.equal(left.rows[0].n, 0);
      await knex.migrate.latest(migrationConfig());
      const voices = await knex('voices').count<{ count: number }[]>('* as count');
      assert.ok(Number(voices[0]!.count) >= 8);
    } finally {
      await knex.destroy();
    }
  });
});
