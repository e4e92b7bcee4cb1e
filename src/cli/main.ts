// `aimake`: the command line over the typed client (clients/typescript). Every command takes
// --json for scripts; failures exit non-zero with the API's own error message on stderr.
import fs from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import { Command, InvalidArgumentError } from 'commander';
import {
  AimakeError,
  createAimakeClient,
  downloadAudio,
  downloadPodcast,
  unwrap,
  waitForAudio,
  waitForPodcast,
  type AimakeClient,
  type PodcastJob,
} from '../../clients/typescript';
import { readCredentials, writeCredentials } from './credentials';

const DEFAULT_API = 'http://127.0.0.1:3000';

interface GlobalOptions {
  api?: string;
  json?: boolean;
}

/** A usage mistake caught before any request (exit 2, like commander's own). */
class UsageError extends Error {}

function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

/** --api, else AIMAKE_API_URL, else the API the saved login is for, else the local default. */
function apiUrl(opts: GlobalOptions) {
  return opts.api ?? process.env.AIMAKE_API_URL ?? readCredentials()?.api ?? DEFAULT_API;
}

/** auth: 'required' fails early without a token; 'optional' sends one if there is one; 'none' never does. */
function client(opts: GlobalOptions, { auth = 'required' as 'required' | 'optional' | 'none' } = {}): AimakeClient {
  const baseUrl = apiUrl(opts);
  const token = auth === 'none' ? undefined : process.env.AIMAKE_TOKEN || readCredentials()?.token;
  if (!token && auth === 'required') throw new UsageError('not signed in: run `aimake login` or set AIMAKE_TOKEN');
  return createAimakeClient({ baseUrl, token });
}

function print(opts: GlobalOptions, value: unknown, human: () => string) {
  process.stdout.write(opts.json ? JSON.stringify(value, null, 2) + '\n' : human() + '\n');
}

/** "90", "90s", "10m", "1h30m" → seconds. */
export function parseDuration(text: string): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?$/.exec(text.trim());
  if (!text.trim() || !m || m.slice(1).every((g) => g === undefined)) throw new InvalidArgumentError('use seconds or e.g. 90s, 10m, 1h30m');
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

function formatSeconds(s: number) {
  const total = Math.max(0, Math.round(s));
  const m = Math.floor(total / 60);
  return m ? `${m}m${String(total % 60).padStart(2, '0')}s` : `${total}s`;
}

async function ask(question: string, { hidden = false } = {}) {
  if (!process.stdin.isTTY) throw new UsageError(`${question.replace(/: $/, '')} is required (pass it as an option)`);
  // A password is typed into a terminal that echoes nothing: readline writes to a muted stream.
  let muted = false;
  const output = new Writable({
    write(chunk, _enc, done) {
      if (!muted) process.stdout.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  try {
    if (!hidden) return await rl.question(question);
    process.stdout.write(question);
    muted = true;
    return await rl.question('');
  } finally {
    if (hidden) process.stdout.write('\n');
    rl.close();
  }
}

/** One line of a job's progress: stage, step (e.g. "Synthesizing line 12 of 40") and ETA. */
function progressLine(job: PodcastJob, tty: boolean) {
  const width = 24;
  const filled = Math.round((job.progress / 100) * width);
  const bar = tty ? `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ` : '';
  const parts = [`${bar}${String(job.progress).padStart(3)}%`, job.status];
  if (job.currentStep) parts.push(job.currentStep);
  if (job.queuePosition) parts.push(`queue position ${job.queuePosition}`);
  if (job.etaSeconds != null && job.status !== 'completed') parts.push(`ETA ${formatSeconds(job.etaSeconds)}`);
  return parts.join('  ');
}

/** A progress bar redrawn in place on a terminal; one plain line per change otherwise (logs, CI). */
function progressReporter(opts: GlobalOptions) {
  // Progress goes to stderr, so stdout stays the command's result (and pure JSON with --json).
  const out = process.stderr;
  const tty = Boolean(out.isTTY);
  let last = '';
  return {
    update(job: PodcastJob) {
      const line = progressLine(job, tty);
      if (line === last) return;
      last = line;
      // Redrawn in place, cut to the terminal's width so it never wraps; \x1b[K clears what is left.
      if (tty) out.write(`\r${line.slice(0, (out.columns || 100) - 1)}\x1b[K`);
      else if (!opts.json) out.write(line + '\n');
    },
    done() {
      if (tty && last) out.write('\n');
    },
  };
}

const program = new Command('aimake')
  .description('AIMake from the command line: text to speech and two-voice podcasts')
  .option('--api <url>', `API base URL (env AIMAKE_API_URL, default ${DEFAULT_API})`)
  .option('--json', 'print machine-readable JSON')
  .showHelpAfterError();

program
  .command('login')
  .description('sign in with email and password; saves the token in ~/.config/aimake/credentials.json')
  .option('--email <email>', 'account email (asked when omitted)')
  .option('--password <password>', 'password (env AIMAKE_PASSWORD; asked when omitted)')
  .action(async (o: { email?: string; password?: string }, cmd: Command) => {
    const opts = globals(cmd);
    const email = o.email ?? (await ask('Email: '));
    const password = o.password ?? process.env.AIMAKE_PASSWORD ?? (await ask('Password: ', { hidden: true }));
    const session = await unwrap(client(opts, { auth: 'none' }).POST('/v1/auth/login', { body: { email, password } }));
    const file = writeCredentials({ api: apiUrl(opts), token: session.token, email: session.user.email });
    print(opts, { user: session.user, credentials: file }, () => `Signed in as ${session.user.email} (token saved in ${file})`);
  });

program
  .command('voices')
  .description('list the voices')
  .option('--language <code>', 'only voices of this language, e.g. zh-CN')
  .option('--provider <name>', 'only voices of this provider')
  .action(async (o: { language?: string; provider?: string }, cmd: Command) => {
    const opts = globals(cmd);
    const { items } = await unwrap(client(opts, { auth: 'optional' }).GET('/v1/voices', { params: { query: o } }));
    print(opts, items, () =>
      items
        .map((v) => `${v.id.padEnd(28)} ${String(v.language ?? '').padEnd(7)} ${String(v.gender ?? '').padEnd(7)} ${v.name}${v.isPremium ? ' (premium)' : ''}`)
        .join('\n'),
    );
  });

program
  .command('tts')
  .description('turn a text into speech')
  .requiredOption('--text <text>', 'the text to speak')
  .requiredOption('--voice <id>', 'voice id (see `aimake voices`)')
  .option('--out <file>', 'wait and save the audio here')
  .option('--format <format>', 'mp3 or wav', 'mp3')
  .option('--speed <speed>', '0.5 to 2.0', Number)
  .option('--title <title>', 'a title for the library')
  .action(async (o: { text: string; voice: string; out?: string; format: string; speed?: number; title?: string }, cmd: Command) => {
    const opts = globals(cmd);
    const api = client(opts);
    const body = { text: o.text, voiceId: o.voice, format: o.format as 'mp3' | 'wav', speed: o.speed, title: o.title };
    const created = (await unwrap(api.POST('/v1/audios', { body }))) as unknown as { id: string };
    if (!o.out) return print(opts, created, () => `Audio ${created.id} is being made`);
    const audio = await waitForAudio(api, created.id);
    await downloadAudio(api, created.id, o.out);
    print(opts, { ...audio, out: o.out }, () => `Saved ${o.out}${typeof audio.duration === 'number' ? ` (${audio.duration.toFixed(1)} s)` : ''}`);
  });

const podcast = program.command('podcast').description('two-voice podcasts');

/** Without --host/--guest: the language's first two free voices, a female host and a male guest when there are. */
async function defaultVoices(api: AimakeClient, language: string) {
  const { items } = await unwrap(api.GET('/v1/voices', { params: { query: { language } } }));
  const free = items.filter((v) => !v.isPremium);
  const host = free.find((v) => v.gender === 'female') ?? free[0];
  const guest = free.find((v) => v !== host && v.gender !== host?.gender) ?? free.find((v) => v !== host);
  if (!host || !guest) throw new UsageError(`no two voices for ${language}: pass --host and --guest (see \`aimake voices\`)`);
  return { host: host.id, guest: guest.id };
}

podcast
  .command('create')
  .description('create a podcast from a text file, a web page or a topic')
  .option('--text <file>', 'a text or markdown file to discuss')
  .option('--url <url>', 'a web page to discuss')
  .option('--topic <text>', 'a topic to discuss')
  .option('--title <title>', 'the podcast title')
  .option('--duration <length>', 'target length, e.g. 10m (default 10m)', parseDuration)
  .option('--language <code>', 'e.g. zh-CN, en-US', 'zh-CN')
  .option('--style <style>', 'casual, formal or debate')
  .option('--host <voice>', "the host's voice id")
  .option('--guest <voice>', "the guest's voice id")
  .option('--review', 'stop after scripting so the script can be reviewed')
  .option('--wait', 'wait until it is done, showing progress')
  .option('--out <file>', 'wait and save the MP3 here')
  .action(async (o: PodcastCreateOptions, cmd: Command) => {
    const opts = globals(cmd);
    const sources = [o.text !== undefined, o.url !== undefined, o.topic !== undefined].filter(Boolean).length;
    if (sources !== 1) throw new UsageError('give exactly one of --text FILE, --url URL or --topic TEXT');
    const api = client(opts);
    const voices = o.host && o.guest ? { host: o.host, guest: o.guest } : { ...(await defaultVoices(api, o.language)), ...pick(o) };
    const [sourceType, sourceContent] =
      o.text !== undefined
        ? (['text', fs.readFileSync(o.text, 'utf8')] as const)
        : o.url !== undefined
          ? (['url', o.url] as const)
          : (['topic', o.topic!] as const);
    const created = await unwrap(
      api.POST('/v1/podcasts', {
        body: {
          title: o.title,
          sourceType,
          sourceContent,
          targetDuration: o.duration,
          language: o.language,
          style: o.style as 'casual' | 'formal' | 'debate' | undefined,
          hostVoiceId: voices.host,
          guestVoiceId: voices.guest,
          review: o.review ?? false,
        },
      }),
    );
    const { id } = (created as unknown as { podcast: { id: string } }).podcast;
    if (!o.wait && !o.out) return print(opts, created, () => `Podcast ${id} started (follow it with \`aimake podcast status ${id}\`)`);
    await finish(opts, api, id, o.out);
  });

interface PodcastCreateOptions {
  text?: string;
  url?: string;
  topic?: string;
  title?: string;
  duration?: number;
  language: string;
  style?: string;
  host?: string;
  guest?: string;
  review?: boolean;
  wait?: boolean;
  out?: string;
}

const pick = (o: { host?: string; guest?: string }) => ({ ...(o.host ? { host: o.host } : {}), ...(o.guest ? { guest: o.guest } : {}) });

/** Waits for the podcast's job with progress; saves the MP3 when asked; fails when the job did. */
async function finish(opts: GlobalOptions, api: AimakeClient, id: string, out?: string) {
  const progress = progressReporter(opts);
  let job: PodcastJob;
  try {
    job = await waitForPodcast(api, id, { onProgress: (j) => progress.update(j) });
  } finally {
    progress.done();
  }
  if (job.status === 'failed' || job.status === 'canceled') {
    throw new AimakeError(200, job.errorCode ?? job.status.toUpperCase(), `the podcast ${job.status}${job.errorMessage ? `: ${job.errorMessage}` : ''}`);
  }
  if (job.status !== 'completed') {
    return print(opts, { id, job }, () => `Podcast ${id} waits for its script to be approved (POST /v1/podcasts/${id}/generate)`);
  }
  if (out) await downloadPodcast(api, id, out);
  print(opts, { id, job, out: out ?? null }, () => (out ? `Saved ${out}` : `Podcast ${id} is ready (\`aimake podcast download ${id}\`)`));
}

podcast
  .command('status <id>')
  .description("a podcast's status and its job's progress")
  .option('--wait', 'wait until it is done, showing progress')
  .action(async (id: string, o: { wait?: boolean }, cmd: Command) => {
    const opts = globals(cmd);
    const api = client(opts);
    if (o.wait) return finish(opts, api, id);
    const p = (await unwrap(api.GET('/v1/podcasts/{id}', { params: { path: { id } } }))) as unknown as {
      title: string | null;
      status: string;
      duration: number | null;
      job: PodcastJob | null;
    };
    print(opts, p, () =>
      [
        `${p.title ?? '(untitled)'}: ${p.status}${p.duration ? `, ${formatSeconds(p.duration)}` : ''}`,
        ...(p.job ? [progressLine(p.job, false)] : []),
        ...(p.job?.errorMessage ? [`error: ${p.job.errorMessage}`] : []),
      ].join('\n'),
    );
  });

podcast
  .command('download <id>')
  .description("save a completed podcast's MP3")
  .option('--out <file>', 'where to save it (default podcast-ID.mp3)')
  .action(async (id: string, o: { out?: string }, cmd: Command) => {
    const opts = globals(cmd);
    const out = o.out ?? `podcast-${id}.mp3`;
    await downloadPodcast(client(opts), id, out);
    print(opts, { id, out }, () => `Saved ${out}`);
  });

podcast
  .command('transcript <id>')
  .description("a completed podcast's timed transcript")
  .option('--format <format>', 'vtt, srt or json', 'vtt')
  .option('--out <file>', 'save it here instead of printing it')
  .action(async (id: string, o: { format: string; out?: string }, cmd: Command) => {
    const opts = globals(cmd);
    const format = o.format as 'vtt' | 'srt' | 'json';
    const text = (await unwrap(
      client(opts).GET('/v1/podcasts/{id}/transcript', { params: { path: { id }, query: { format } }, parseAs: 'text' }),
    )) as unknown as string;
    if (o.out) {
      fs.writeFileSync(o.out, text);
      return print(opts, { id, format, out: o.out }, () => `Saved ${o.out}`);
    }
    // The transcript itself is the output; --json wraps it only when it is not JSON already.
    process.stdout.write(opts.json && format !== 'json' ? JSON.stringify({ id, format, transcript: text }) + '\n' : text.endsWith('\n') ? text : text + '\n');
  });

podcast
  .command('cancel <id>')
  .description('stop a running podcast (nothing is charged)')
  .action(async (id: string, _o: unknown, cmd: Command) => {
    const opts = globals(cmd);
    const res = await unwrap(client(opts).POST('/v1/podcasts/{id}/cancel', { params: { path: { id } } }));
    print(opts, res ?? { id, canceled: true }, () => `Canceling podcast ${id}`);
  });

program
  .command('usage')
  .description("the month's usage and the remaining quota")
  .option('--month <YYYY-MM>', 'the month (default: this one)')
  .action(async (o: { month?: string }, cmd: Command) => {
    const opts = globals(cmd);
    const api = client(opts);
    const usage = (await unwrap(api.GET('/v1/usage', { params: { query: o } }))) as unknown as {
      month: string;
      totals: { requests: number; duration: number; chars: number };
    };
    const me = (await unwrap(api.GET('/v1/me'))) as unknown as { quota: { limit: number; used: number; remaining: number; resetAt: string } };
    print(opts, { ...usage, quota: me.quota }, () =>
      [
        `${usage.month}: ${usage.totals.requests} requests, ${formatSeconds(usage.totals.duration)} of audio, ${usage.totals.chars} characters`,
        `Quota: ${formatSeconds(me.quota.used)} of ${formatSeconds(me.quota.limit)} used, ${formatSeconds(me.quota.remaining)} left (resets ${me.quota.resetAt})`,
      ].join('\n'),
    );
  });

function fail(err: unknown): never {
  const json = process.argv.includes('--json');
  if (err instanceof AimakeError) {
    process.stderr.write(
      json ? JSON.stringify({ error: { code: err.code, message: err.message, details: err.details } }) + '\n' : `error: ${err.message} (${err.code})\n`,
    );
    process.exit(1);
  }
  const message = err instanceof Error ? err.message : String(err);
  // fetch failing outright: the API is not there (or not at that address).
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  const shown =
    err instanceof TypeError && message === 'fetch failed'
      ? `cannot reach the API at ${apiUrl(program.opts<GlobalOptions>())} (${cause?.code ?? cause?.message ?? 'no answer'}; is it running? --api / AIMAKE_API_URL)`
      : message;
  process.stderr.write(json ? JSON.stringify({ error: { code: 'CLI', message: shown } }) + '\n' : `error: ${shown}\n`);
  process.exit(err instanceof UsageError ? 2 : 1);
}

program.parseAsync(process.argv).catch(fail);
