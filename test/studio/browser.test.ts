import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ensureStudioBuilt } from '../../src/studio/build';
import { uniqueEmail } from '../helpers/api';
import { ARTICLE_ZH_EN } from '../helpers/generation';
import { startTestStack, type TestStack } from '../helpers/stack';

const ROOT = path.resolve(__dirname, '../..');
const STUDIO_DIR = path.join(ROOT, 'web/dist');
// Git-ignored: one screenshot per page, for people to look at (CI keeps them as artifacts).
const SHOTS = path.join(ROOT, '.artifacts/studio');

// Debian's chromium (apt-get install chromium fonts-noto-cjk); playwright-core downloads no browser.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Headless chromium plays audio only after a gesture otherwise; the test clicks play anyway.
  '--autoplay-policy=no-user-gesture-required',
];

/** Everything that went wrong in the page: console errors, uncaught errors, failed and refused requests. */
interface Problems {
  list: string[];
  /** Responses the test provokes on purpose (method + path + status), which are not problems. */
  expected: Set<string>;
}

function watch(page: Page, problems: Problems) {
  // Chromium also reports each failed response as a console error naming its URL; those are
  // judged by the response listener below.
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    if (/^Failed to load resource: the server responded with a status of \d+/.test(msg.text())) return;
    problems.list.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.list.push(`page error: ${err.message}`));
  page.on('requestfailed', (req) => {
    // Leaving a page aborts its open event stream, and the player drops its range request when it seeks.
    const failure = req.failure()?.errorText ?? '';
    if (failure === 'net::ERR_ABORTED' && (req.url().endsWith('/events') || req.resourceType() === 'media')) return;
    problems.list.push(`request failed: ${req.method()} ${req.url()} ${failure}`);
  });
  page.on('response', (res) => {
    if (res.status() < 400) return;
    const key = `${res.request().method()} ${new URL(res.url()).pathname} ${res.status()}`;
    if (!problems.expected.has(key)) problems.list.push(`response: ${key}`);
  });
}

/** Polls `read` until `done` holds, returning every distinct value seen on the way. */
async function watchValues<T>(read: () => Promise<T>, done: (v: T) => boolean, timeoutMs: number, what: string): Promise<T[]> {
  const seen: T[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (seen[seen.length - 1] !== v) seen.push(v);
    if (done(v)) return seen;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; saw ${JSON.stringify(seen)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

/** The studio in Debian's chromium against the real stack (issue 13): the path a user takes, by role and label. */
describe('the web studio in a real browser', function () {
  this.timeout(180_000);
  let stack: TestStack;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const problems: Problems = { list: [], expected: new Set() };
  const email = uniqueEmail('studio');
  const password = 'correct horse battery staple';

  before(async function () {
    this.timeout(120_000);
    assert.ok(fs.existsSync(CHROMIUM), `no browser at ${CHROMIUM}: install Debian's chromium (apt-get install chromium fonts-noto-cjk)`);
    await ensureStudioBuilt(ROOT, { log: () => undefined });
    fs.mkdirSync(SHOTS, { recursive: true });
    stack = await startTestStack({ STUDIO_DIR, WEBHOOK_ALLOW_LOOPBACK: 'true' });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    watch(page, problems);
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') await shot(page, 'failure').catch(() => undefined);
  });
  after(async () => {
    await browser?.close();
  });

  it('creates an account, reviews and approves a podcast, follows it to 100, plays it with its transcript, and speaks Chinese', async () => {
    // Before signing in, the studio asks whether the browser has a session: it has not.
    problems.expected.add('GET /v1/studio/session 401');
    await page.goto(`${stack.url}/studio/?lang=en`);
    await shot(page, '01-sign-up');

    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'New podcast' }).waitFor();
    // The session lives in an HttpOnly cookie: nothing a script could read.
    const cookie = (await context.cookies()).find((c) => c.name === 'aimake_session');
    assert.ok(cookie?.httpOnly, 'the session cookie is HttpOnly');
    assert.equal(await page.evaluate(() => document.cookie), '');

    // A text podcast with review on, after its estimate.
    await page.getByLabel('Text').fill(ARTICLE_ZH_EN);
    await page.getByLabel('Title').fill('Studio browser test');
    await page.getByLabel('Duration').selectOption('1');
    await page.getByLabel('Host voice').selectOption('local-zh-female');
    await page.getByLabel('Guest voice').selectOption('local-zh-male');
    assert.equal(await page.getByLabel('Review the script before making audio').isChecked(), true);
    await page.getByRole('button', { name: 'Estimate' }).click();
    await page.getByRole('status').filter({ hasText: 'Fits in your quota.' }).waitFor();
    await shot(page, '02-new-podcast');
    await page.getByRole('button', { name: 'Generate' }).click();

    // The run stops at its draft: edit the first line, then approve.
    await page.getByRole('heading', { name: 'Review the script' }).waitFor({ timeout: 60_000 });
    const firstLine = page.getByLabel('Line 1', { exact: true });
    const edited = 'Welcome to the studio test, edited in the browser.';
    await firstLine.fill(edited);
    // Add a line, move it up, delete it again: the script is back to its lines.
    const count = await page.getByRole('textbox', { name: /^Line \d+$/ }).count();
    const lastLine = page.getByLabel(`Line ${count}`, { exact: true });
    const before = await lastLine.inputValue();
    await page.getByRole('button', { name: 'Add line' }).click();
    await page.getByLabel(`Line ${count + 1}`, { exact: true }).fill('A line that will not stay.');
    await page.getByRole('button', { name: `Move line ${count + 1} up` }).click();
    assert.equal(await lastLine.inputValue(), 'A line that will not stay.');
    await page.getByRole('button', { name: `Delete line ${count}` }).click();
    assert.equal(await lastLine.inputValue(), before);
    assert.equal(await page.getByRole('textbox', { name: /^Line \d+$/ }).count(), count);
    await shot(page, '03-review');
    await page.getByRole('button', { name: 'Approve' }).click();

    // Live progress from /events, up to 100.
    const bar = page.getByRole('progressbar', { name: 'Progress' });
    await bar.waitFor();
    await shot(page, '04-progress');
    const values = await watchValues(
      async () => Number(await bar.getAttribute('aria-valuenow')),
      (v) => v === 100,
      90_000,
      'the progress bar to reach 100',
    );
    assert.ok(values.length >= 2, `the bar moved on its way to 100: ${values.join(', ')}`);
    assert.deepEqual(
      values,
      [...values].sort((a, b) => a - b),
      'progress never goes down',
    );

    // Listen: the player, and the transcript as a list of buttons.
    const transcript = page.getByRole('list', { name: 'Transcript' });
    const cues = transcript.getByRole('button');
    await cues.nth(2).waitFor();
    assert.ok((await cues.first().textContent())?.includes(edited), 'the edited line was spoken and is in the transcript');
    const player = page.getByLabel('Player');
    await player.evaluate((audio: HTMLAudioElement) => audio.play());
    const times = await watchValues(
      () => player.evaluate((audio: HTMLAudioElement) => audio.currentTime),
      (t) => t > 0.5,
      20_000,
      'currentTime to advance',
    );
    assert.ok(times[times.length - 1]! > 0.5);
    await player.evaluate((audio: HTMLAudioElement) => audio.pause());

    // The third line: the player seeks to its start, and the line is the current one.
    const lines = (await page.evaluate(
      async (url) => (await (await fetch(url)).json()).lines,
      `/v1/podcasts/${page.url().split('/podcasts/')[1]}/transcript?format=json`,
    )) as {
      start: number;
    }[];
    await cues.nth(2).click();
    const at = await player.evaluate((audio: HTMLAudioElement) => audio.currentTime);
    assert.ok(Math.abs(at - lines[2]!.start) < 0.05, `seeked to ${at}, the third line starts at ${lines[2]!.start}`);
    await watchValues(
      () => cues.nth(2).getAttribute('aria-current'),
      (v) => v === 'true',
      5_000,
      'the third line to be current',
    );
    await shot(page, '05-listen');

    // The private feed's URL, for podcast apps.
    await page.getByRole('button', { name: 'Copy feed URL' }).click();
    assert.match(await page.getByRole('textbox', { name: 'Feed URL' }).inputValue(), /\/v1\/feeds\/[^/]+\.xml$/);

    // After completion: edit a line and regenerate; the new words reach the transcript.
    await page.getByRole('button', { name: 'Edit script' }).click();
    const again = 'A second take, edited after listening.';
    await page.getByLabel('Line 2', { exact: true }).fill(again);
    await page.getByRole('button', { name: 'Regenerate' }).click();
    await watchValues(
      async () => (await transcript.getByRole('button').nth(1).textContent({ timeout: 60_000 })) ?? '',
      (text) => text.includes(again),
      60_000,
      'the regenerated transcript',
    );

    // The other pages, each once.
    for (const [link, heading, name] of [
      ['Library', 'Library', '06-library'],
      ['Voices', 'Voices', '07-voices'],
      ['Team', 'Team', '08-team'],
      ['Account', 'Account', '09-account'],
    ] as const) {
      await page.getByRole('link', { name: link }).click();
      await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
      await page.waitForLoadState('networkidle');
      await shot(page, name);
    }
    assert.equal(await page.getByRole('link', { name: 'Studio browser test' }).count(), 0, 'the account page lists no podcasts');
    await page.getByRole('progressbar', { name: 'Quota this month' }).waitFor();

    // Chinese, from the switcher.
    await page.getByLabel('Interface language').selectOption('zh-CN');
    await page.getByRole('heading', { name: '账户', level: 1 }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'zh-CN');
    await page.getByRole('link', { name: '新建播客' }).click();
    await page.getByLabel('主持人声音').waitFor();
    await shot(page, '10-new-podcast-zh');

    // A phone: the new-podcast page does not scroll sideways at 390 px.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('link', { name: '新建播客' }).click();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.equal(overflow, 0, 'no horizontal overflow at 390 px');
    await shot(page, '11-new-podcast-phone');

    assert.deepEqual(problems.list, [], 'no console errors and no failed requests');
  });

  it("shows the API's own error message, plays a voice preview, cancels a run, keeps a library (speak, rename, make public, delete audios and podcasts), webhooks and API keys, signs out and in", async () => {
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(`${stack.url}/studio/?lang=en#/new`);

    // A premium voice on the free plan: the estimate answers 403, and the page says why.
    problems.expected.add('POST /v1/podcasts/estimate 403');
    await page.getByLabel('Text', { exact: true }).fill(ARTICLE_ZH_EN);
    await page.getByLabel('Host voice').selectOption({ label: 'Adam · 专业男声' });
    await page.getByRole('button', { name: 'Estimate' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match((await alert.textContent()) ?? '', /is premium: it needs the pro or team plan/);

    // A voice's preview, made on first use by the voice's own engine, plays.
    await page.getByRole('link', { name: 'Voices' }).click();
    await page.getByRole('button', { name: 'Play preview: Local English (female)' }).click();
    const preview = page.getByLabel('Play preview', { exact: true });
    await watchValues(
      () => preview.evaluate((audio: HTMLAudioElement) => audio.currentTime),
      (t) => t > 0.2,
      30_000,
      'the preview to play',
    );

    // Cancel a run while it waits for a worker (stopped here, so the run cannot finish first).
    await page.getByRole('link', { name: 'New podcast' }).click();
    await page.getByLabel('Text', { exact: true }).fill(ARTICLE_ZH_EN);
    await page.getByLabel('Title').fill('Canceled in the browser');
    await page.getByLabel('Duration').selectOption('1');
    await page.getByLabel('Host voice').selectOption('local-zh-female');
    await page.getByLabel('Guest voice').selectOption('local-zh-male');
    await page.getByRole('button', { name: 'Generate' }).click();
    await page.getByRole('heading', { name: 'Review the script' }).waitFor({ timeout: 60_000 });
    await stack.stopWorker();
    try {
      await page.getByRole('button', { name: 'Approve' }).click();
      await page.getByRole('progressbar', { name: 'Progress' }).waitFor();
      await page.getByRole('button', { name: 'Cancel' }).click();
    } finally {
      await stack.startWorker();
    }
    await page.getByText('The podcast was canceled.').waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Retry' }).waitFor();

    // Text to speech from the library page.
    await page.getByRole('link', { name: 'Library' }).click();
    await page.getByLabel('Text', { exact: true }).fill('Hello from the studio.');
    await page.getByLabel('Title').fill('Studio hello');
    await page.getByRole('button', { name: 'Speak' }).click();
    await page.getByRole('status').filter({ hasText: 'Started' }).waitFor();
    const rename = page.getByRole('textbox', { name: 'Rename: Studio hello' });
    await watchValues(
      async () => {
        await page.getByRole('button', { name: 'Refresh' }).click();
        return rename.count();
      },
      (n) => n === 1,
      30_000,
      'the audio in the library',
    );
    await rename.fill('Studio hello, renamed');
    // Podcasts have their own Save buttons on this page: this audio's.
    await page.getByRole('listitem').filter({ has: rename }).getByRole('button', { name: 'Save' }).click();
    const item = page.getByRole('listitem').filter({ has: page.getByRole('textbox', { name: 'Rename: Studio hello, renamed' }) });
    await item.waitFor();
    // Saved, not just ticked: the list read again from the API shows it public.
    const reloaded = page.waitForResponse((res) => res.request().method() === 'GET' && new URL(res.url()).pathname === '/v1/audios');
    await item.getByRole('checkbox', { name: 'Public' }).check();
    await reloaded;
    await page.getByRole('button', { name: 'Refresh' }).click();
    await watchValues(
      () => item.getByRole('checkbox', { name: 'Public' }).isChecked(),
      (v) => v,
      5_000,
      'the audio to be public',
    );
    await shot(page, '12-library-audio');
    page.once('dialog', (dialog) => void dialog.accept());
    await item.getByRole('button', { name: 'Delete' }).click();
    await item.waitFor({ state: 'detached' });

    // The podcast made above, the same way: renamed, made public, deleted (after a confirmation).
    const podcastRename = page.getByRole('textbox', { name: 'Rename: Studio browser test' });
    await podcastRename.fill('Studio browser test, renamed');
    await page.getByRole('listitem').filter({ has: podcastRename }).getByRole('button', { name: 'Save' }).click();
    const podcastItem = page.getByRole('listitem').filter({ has: page.getByRole('link', { name: 'Studio browser test, renamed' }) });
    await podcastItem.waitFor();
    const podcastId = (await podcastItem.getByRole('link').getAttribute('href'))!.split('/podcasts/')[1]!;
    const published = page.waitForResponse((res) => res.request().method() === 'PATCH' && new URL(res.url()).pathname === `/v1/podcasts/${podcastId}`);
    await podcastItem.getByRole('checkbox', { name: 'Public' }).check();
    assert.equal((await published).status(), 200);
    await watchValues(
      () => podcastItem.getByRole('checkbox', { name: 'Public' }).isChecked(),
      (v) => v,
      5_000,
      'the podcast to be public',
    );
    // Saved for everyone: its transcript now needs no sign-in, and its audio has the new title.
    assert.equal((await fetch(`${stack.url}/v1/podcasts/${podcastId}/transcript`)).status, 200, 'a public podcast');
    const podcastAudio = await page.evaluate(async () => (await (await fetch('/v1/audios?type=podcast')).json()).items[0]);
    assert.equal(podcastAudio.title, 'Studio browser test, renamed');
    assert.equal(podcastAudio.isPublic, true);
    // The canceled run offers Delete too; only a running one offers Cancel.
    const canceledItem = page.getByRole('listitem').filter({ has: page.getByRole('link', { name: 'Canceled in the browser' }) });
    assert.equal(await canceledItem.getByRole('button', { name: 'Delete' }).count(), 1);
    assert.equal(await canceledItem.getByRole('checkbox', { name: 'Public' }).count(), 0, 'no audio to publish');
    await shot(page, '13-library-podcast');
    let asked = '';
    page.once('dialog', (dialog) => {
      asked = dialog.message();
      void dialog.accept();
    });
    await podcastItem.getByRole('button', { name: 'Delete' }).click();
    await podcastItem.waitFor({ state: 'detached' });
    assert.match(asked, /Delete the podcast “Studio browser test, renamed”/);
    assert.equal(await stack.knex('podcasts').where({ id: podcastId }).first(), undefined, 'deleted');
    assert.equal((await fetch(`${stack.url}/v1/podcasts/${podcastId}/transcript`)).status, 404);

    // Team: API keys need the Team plan; a webhook shows its secret once, then goes.
    await page.getByRole('link', { name: 'Team' }).click();
    await page.getByText('API keys need the Team plan.').waitFor();
    await page.getByLabel('Webhook URL').fill('http://127.0.0.1:9/studio-hook');
    await page.getByRole('button', { name: 'Add webhook' }).click();
    assert.match((await page.getByRole('status').filter({ hasText: 'Signing secret' }).textContent()) ?? '', /whsec_/);
    const hook = page.getByRole('listitem').filter({ hasText: 'http://127.0.0.1:9/studio-hook' });
    await hook.getByRole('button', { name: 'Delete' }).click();
    await hook.waitFor({ state: 'detached' });

    // On the Team plan the same page makes an API key, shows it once, and revokes it.
    await stack.knex('users').where({ email }).update({ plan: 'team' });
    await page.reload();
    await page.getByLabel('Key name').fill('Studio key');
    await page.getByRole('button', { name: 'Create key' }).click();
    const shown = (await page.getByRole('status').filter({ hasText: 'shown only once' }).textContent()) ?? '';
    const key = /ak_\S+/.exec(shown)?.[0];
    assert.ok(key, `the new key is shown: ${shown}`);
    assert.equal((await fetch(`${stack.url}/v1/me`, { headers: { 'x-api-key': key } })).status, 200, 'the key works');
    const keyItem = page.getByRole('listitem').filter({ hasText: 'Studio key' });
    await keyItem.getByRole('button', { name: 'Revoke' }).click();
    await keyItem.waitFor({ state: 'detached' });
    assert.equal((await fetch(`${stack.url}/v1/me`, { headers: { 'x-api-key': key } })).status, 401, 'a revoked key is refused');

    // Sign out, and back in with the same account.
    await page.getByRole('link', { name: 'Account' }).click();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: 'Library' }).click();
    await page.getByRole('link', { name: 'Canceled in the browser' }).waitFor();

    // A session the API no longer knows (here: the cookie is gone) sends the studio back to sign in.
    for (const path of ['/v1/me', '/v1/usage']) problems.expected.add(`GET ${path} 401`);
    await context.clearCookies();
    await page.getByRole('link', { name: 'Account' }).click();
    await page.getByRole('button', { name: 'Create account' }).waitFor();

    // A Google/GitHub sign-in that failed comes back with its reason, which the page shows once.
    const reason = 'Sign-in was not completed at Google (access_denied)';
    await page.goto(`${stack.url}/studio/?lang=en&signInError=${encodeURIComponent(reason)}`);
    assert.equal(await page.getByRole('alert').textContent(), reason);
    assert.equal(new URL(page.url()).searchParams.get('signInError'), null, 'dropped from the address');

    assert.deepEqual(problems.list, [], 'no console errors and no failed requests');
  });
});
