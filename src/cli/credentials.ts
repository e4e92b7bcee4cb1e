// Where `aimake login` keeps its token: $XDG_CONFIG_HOME/aimake/credentials.json (else
// ~/.config/aimake/credentials.json), readable by its owner only, since the token is a password.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Credentials {
  api: string;
  token: string;
  email: string;
}

export function credentialsPath(env: NodeJS.ProcessEnv = process.env) {
  const configHome = env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), '.config');
  return path.join(configHome, 'aimake', 'credentials.json');
}

export function readCredentials(env: NodeJS.ProcessEnv = process.env): Credentials | null {
  try {
    return JSON.parse(fs.readFileSync(credentialsPath(env), 'utf8')) as Credentials;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`cannot read ${credentialsPath(env)}: ${(err as Error).message}`);
  }
}

export function writeCredentials(creds: Credentials, env: NodeJS.ProcessEnv = process.env) {
  const file = credentialsPath(env);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  // Written to a fresh 0600 file and renamed, so the token is never readable by others, even briefly
  // or when an older file had looser permissions.
  const part = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(part, JSON.stringify(creds, null, 2) + '\n', { mode: 0o600 });
  fs.chmodSync(part, 0o600); // the umask cannot loosen 0600, but an existing stale temp file could
  fs.renameSync(part, file);
  return file;
}
