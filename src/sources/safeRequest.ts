import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { SourceError } from './errors';
import { addressRange, isAllowedAddress, literalAddress, sameAddress } from './ssrf';

/**
 * One HTTP request to a URL a user gave us, under the address policy of ssrf.ts: the host is
 * resolved here, every address it resolves to must be allowed, and the socket is pinned to the
 * address that was checked. URL sources (url.ts) fetch pages with it; webhooks (src/webhooks)
 * deliver events with it.
 */

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

export type Lookup = (hostname: string) => Promise<ResolvedAddress[]>;

export interface TargetPolicy {
  /** Allow loopback destinations (tests only). Never allows private or link-local ranges. */
  allowLoopback: boolean;
  /** Name resolution; injectable so tests need no DNS. */
  lookup: Lookup;
  signal: AbortSignal;
}

export async function defaultLookup(hostname: string): Promise<ResolvedAddress[]> {
  const results = await dns.promises.lookup(hostname, { all: true, verbatim: true });
  return results.map((r) => ({ address: r.address, family: r.family === 6 ? 6 : 4 }));
}

export function describeUrl(u: URL): string {
  return `${u.protocol}//${u.host}`;
}

/** An http(s) URL without credentials, or SOURCE_INVALID_URL naming `what` was wrong. */
export function parseTargetUrl(input: string | URL, what: string): URL {
  let u: URL;
  try {
    u = typeof input === 'string' ? new URL(input.trim()) : input;
  } catch {
    throw new SourceError('SOURCE_INVALID_URL', `${what} is not a valid URL.`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new SourceError('SOURCE_INVALID_URL', `${what} must use http or https, not ${u.protocol.replace(/:$/, '')}.`);
  }
  if (u.username !== '' || u.password !== '') {
    throw new SourceError('SOURCE_INVALID_URL', `${what} must not contain a username or password.`);
  }
  if (u.hostname === '') {
    throw new SourceError('SOURCE_INVALID_URL', `${what} has no host.`);
  }
  return u;
}

function isLocalhostName(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/\.$/, '');
  return h === 'localhost' || h.endsWith('.localhost');
}

function familyOf(address: string): 4 | 6 {
  return net.isIPv6(address) ? 6 : 4;
}

/** Never settles later than the signal aborts, for work that cannot be cancelled (DNS). */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/**
 * Resolves the URL's host and applies the address policy to every address.
 * Returns the single address the connection will be pinned to.
 */
export async function resolveAndCheck(u: URL, policy: TargetPolicy): Promise<ResolvedAddress> {
  const literal = literalAddress(u.hostname);
  let addresses: ResolvedAddress[];
  if (literal !== null) {
    addresses = [{ address: literal, family: familyOf(literal) }];
  } else if (isLocalhostName(u.hostname)) {
    // RFC 6761: these names are loopback by definition; don't ask DNS.
    addresses = [{ address: '127.0.0.1', family: 4 }];
  } else {
    try {
      addresses = await raceAbort(policy.lookup(u.hostname), policy.signal);
    } catch (err) {
      if (policy.signal.aborted) throw err;
      const code = (err as NodeJS.ErrnoException)?.code;
      const notFound = code === 'ENOTFOUND' || code === 'ENODATA';
      throw new SourceError(
        'SOURCE_FETCH_FAILED',
        notFound ? `Could not find the host ${u.hostname}.` : `Could not resolve the host ${u.hostname}${code ? ` (${code})` : ''}.`,
        { retryable: !notFound, cause: err },
      );
    }
    addresses = (addresses ?? []).map((a) => ({ address: String(a.address), family: familyOf(String(a.address)) }));
  }

  if (addresses.length === 0) {
    throw new SourceError('SOURCE_FETCH_FAILED', `Could not find the host ${u.hostname}.`);
  }
  // Refuse if ANY address is disallowed: a later connection attempt could pick it.
  for (const a of addresses) {
    if (!isAllowedAddress(a.address, { allowLoopback: policy.allowLoopback })) {
      const where = literal !== null ? `${u.hostname}` : `${u.hostname} (${a.address})`;
      throw new SourceError('SOURCE_FORBIDDEN_ADDRESS', `Refusing to connect to ${where}: ${addressRange(a.address)} addresses are not allowed.`);
    }
  }
  return addresses[0]!;
}

export interface PinnedRequest {
  method: 'GET' | 'POST';
  /** Host is set from the URL. */
  headers: Record<string, string>;
  body?: Buffer;
}

/**
 * Sends one request to the checked address and resolves with the response head (the body is the
 * caller's to read or destroy). Redirects are not followed here: a caller that follows them
 * checks each target again.
 */
export async function openPinned(u: URL, policy: TargetPolicy, request: PinnedRequest): Promise<http.IncomingMessage> {
  const pinned = await resolveAndCheck(u, policy);
  const literal = literalAddress(u.hostname);

  // Node calls this instead of DNS for named hosts, so the socket goes to the
  // address we just checked: a second, rebinding answer is never consulted.
  const pinnedLookup: net.LookupFunction = (_hostname, options, callback) => {
    if (options.all) callback(null, [{ address: pinned.address, family: pinned.family }]);
    else callback(null, pinned.address, pinned.family);
  };

  const mod = u.protocol === 'https:' ? https : http;
  return new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = mod.request({
      protocol: u.protocol,
      // Literal IPs skip the lookup hook, so connect to the canonical checked form.
      host: literal ?? u.hostname,
      port: u.port === '' ? undefined : Number(u.port),
      path: `${u.pathname}${u.search}`,
      method: request.method,
      headers: {
        Host: u.host,
        ...request.headers,
        ...(request.body ? { 'Content-Length': String(request.body.length) } : {}),
      },
      family: pinned.family,
      lookup: pinnedLookup,
      // No pooled sockets: every request gets a fresh, freshly checked connection.
      agent: false,
      signal: policy.signal,
    });
    req.once('socket', (socket) => {
      socket.once('connect', () => {
        // Belt and braces: the peer must be the address the policy approved.
        const remote = socket.remoteAddress;
        if (remote && !sameAddress(remote, pinned.address)) {
          req.destroy(new SourceError('SOURCE_FORBIDDEN_ADDRESS', `Refusing to connect to ${u.hostname}: connected to an unexpected address.`));
        }
      });
    });
    req.once('response', resolve);
    req.on('error', reject);
    req.end(request.body);
  });
}

/** A network failure in the product's words, classified as worth retrying or not. */
export function networkError(err: unknown, u: URL): SourceError {
  const e = err as NodeJS.ErrnoException & { code?: string };
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const tls = code !== undefined && (/CERT|TLS|SSL/.test(code) || code === 'DEPTH_ZERO_SELF_SIGNED_CERT');
  const what =
    code === 'ECONNREFUSED'
      ? 'the connection was refused'
      : code === 'ECONNRESET'
        ? 'the connection was reset'
        : code === 'ETIMEDOUT'
          ? 'the connection timed out'
          : code === 'EHOSTUNREACH' || code === 'ENETUNREACH'
            ? 'the host is unreachable'
            : tls
              ? 'the secure connection could not be verified'
              : 'a network error occurred';
  return new SourceError('SOURCE_FETCH_FAILED', `Could not reach ${describeUrl(u)}: ${what}${code ? ` (${code})` : ''}.`, {
    retryable: !tls,
    cause: err,
  });
}
