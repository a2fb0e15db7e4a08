/**
 * Who may talk to serve mode: a caller holding the per-launch token, from a
 * page this server served (or a non-browser client with no Origin at all).
 * The Origin check stops another web page in the same browser from driving
 * the API (cross-site WebSocket hijacking, DNS rebinding); the token stops
 * other local users.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import os from 'node:os';

export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

export function tokenMatches(expected: string, given: string | null | undefined): boolean {
  if (!given) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The token from `Authorization: Bearer …` or the `token` query parameter. */
export function tokenFromRequest(request: IncomingMessage): string | null {
  const header = request.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice('Bearer '.length).trim();
  const url = new URL(request.url ?? '/', 'http://placeholder');
  return url.searchParams.get('token');
}

/**
 * The origins serve mode answers: judged against the address the server
 * listens on, never against the request's own Host header (a DNS-rebinding
 * page sends a Host and an Origin of its own name, which agree). On a
 * loopback address a page from any loopback name and port is ours (an SSH
 * port forward changes the port); on another address only that address at
 * the listening port, and on a wildcard address each of this machine's
 * interface addresses.
 */
export interface OriginPolicy {
  /** Host names (lower case, IPv6 without brackets) a page may be served from. */
  hostnames: Set<string>;
  /** The listening port, required for names that are not loopback. */
  port: number;
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];

export function originPolicy(listenHost: string, port: number): OriginPolicy {
  const bare = listenHost.replace(/^\[|\]$/g, '').toLowerCase();
  const hostnames = new Set<string>(LOOPBACK_NAMES);
  if (bare === '0.0.0.0' || bare === '::') {
    for (const addresses of Object.values(os.networkInterfaces())) {
      for (const address of addresses ?? []) hostnames.add(address.address.toLowerCase());
    }
  } else {
    hostnames.add(bare);
  }
  return { hostnames, port };
}

/** True when the request has no Origin (CLI, curl) or its Origin is a page of this server (see OriginPolicy). */
export function originAllowed(request: IncomingMessage, policy: OriginPolicy): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return false;
  const hostname = parsed.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (isLoopbackHost(hostname)) return true;
  if (!policy.hostnames.has(hostname)) return false;
  const port = parsed.port === '' ? (parsed.protocol === 'https:' ? 443 : 80) : Number(parsed.port);
  return port === policy.port;
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
