import ipaddr from 'ipaddr.js';

/**
 * Address policy for outbound fetches of user-supplied URLs.
 *
 * Deny by default: only what ipaddr.js classifies as plain 'unicast' is public.
 * Every special-purpose range (loopback, private, link-local incl. cloud
 * metadata, CGNAT, multicast, reserved, unique-local, 6to4, Teredo, NAT64, ...)
 * is refused, so a new special range added to ipaddr.js is refused too.
 */

type Parsed = ipaddr.IPv4 | ipaddr.IPv6;

function stripBrackets(s: string): string {
  return s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s;
}

/** Parses an address, turning IPv4-mapped IPv6 into the IPv4 it carries. */
function parseAddress(ip: string): Parsed | null {
  const raw = stripBrackets(ip.trim());
  if (raw === '' || !ipaddr.isValid(raw)) return null;
  let parsed: Parsed;
  try {
    parsed = ipaddr.parse(raw);
  } catch {
    return null;
  }
  if (parsed.kind() === 'ipv6') {
    const v6 = parsed as ipaddr.IPv6;
    // A zone id means "this interface's link"; never a public destination.
    if (v6.zoneId) return null;
    // ::ffff:a.b.c.d reaches the IPv4 host, so judge it as that host.
    if (v6.isIPv4MappedAddress()) return v6.toIPv4Address();
  }
  return parsed;
}

/** True only for addresses that are plain public unicast. Invalid input is not public. */
export function isPublicAddress(ip: string): boolean {
  const parsed = parseAddress(ip);
  return parsed !== null && parsed.range() === 'unicast';
}

/** True for 127.0.0.0/8, ::1 and their IPv4-mapped forms. */
export function isLoopbackAddress(ip: string): boolean {
  const parsed = parseAddress(ip);
  return parsed !== null && parsed.range() === 'loopback';
}

/**
 * The ipaddr.js range name of an address ('unicast', 'private', 'loopback', ...),
 * or 'invalid'. Used for error messages.
 */
export function addressRange(ip: string): string {
  const parsed = parseAddress(ip);
  return parsed === null ? 'invalid' : parsed.range();
}

/**
 * If a URL hostname is an IP literal in any form, returns the canonical address
 * (dotted-quad IPv4 or compressed IPv6, brackets removed); otherwise null.
 *
 * WHATWG URL parsing already rewrites decimal/octal/hex/short IPv4 forms to
 * dotted decimal; ipaddr.js also accepts those forms, so a hostname that
 * bypassed URL parsing is still recognised rather than handed to DNS.
 */
export function literalAddress(hostname: string): string | null {
  let host = stripBrackets(hostname.trim());
  // A trailing dot on a numeric name does not make it a DNS name.
  if (host.endsWith('.') && !host.includes(':')) host = host.slice(0, -1);
  if (host === '' || !ipaddr.isValid(host)) return null;
  try {
    return ipaddr.parse(host).toString();
  } catch {
    return null;
  }
}

/** The policy decision for one resolved address. */
export function isAllowedAddress(ip: string, opts: { allowLoopback?: boolean } = {}): boolean {
  if (isPublicAddress(ip)) return true;
  // The loopback opt-in exists for tests; it must never widen to private ranges.
  return opts.allowLoopback === true && isLoopbackAddress(ip);
}

/** Whether two textual addresses denote the same host (IPv4-mapped folded to IPv4). */
export function sameAddress(a: string, b: string): boolean {
  const pa = parseAddress(a);
  const pb = parseAddress(b);
  return pa !== null && pb !== null && pa.kind() === pb.kind() && pa.toNormalizedString() === pb.toNormalizedString();
}
