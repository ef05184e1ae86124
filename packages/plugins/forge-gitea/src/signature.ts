import { createHmac, timingSafeEqual } from 'node:crypto';

/** Request headers as node and the route descriptor give them (lower-case names). */
export type HeaderMap = Readonly<Record<string, string | string[] | undefined>>;

/** The first value of a header, `undefined` when absent. */
export function headerValue(headers: HeaderMap, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** Lower-case hex HMAC-SHA256 of `body` — what Gitea puts in `X-Gitea-Signature`. */
export function giteaSignature(secret: string, body: Buffer | string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/** Why a delivery's signature was refused. */
export type SignatureVerdict = { ok: true } | { ok: false; reason: 'missing' | 'mismatch' };

const HEX_64 = /^[0-9a-f]{64}$/;

function matches(candidate: string, expected: Buffer): boolean {
  const given = candidate.trim().toLowerCase();
  // Anything but 64 hex digits cannot match; checking first also keeps
  // timingSafeEqual from throwing on a length mismatch.
  if (!HEX_64.test(given)) return false;
  return timingSafeEqual(Buffer.from(given, 'hex'), expected);
}

/**
 * Verifies a Gitea delivery: `X-Gitea-Signature` (bare hex) or
 * `X-Hub-Signature-256` (`sha256=<hex>`), either one, over the raw body bytes
 * exactly as received. Never re-serialise the JSON first: Gitea signs Go's
 * `MarshalIndent` output, and `JSON.stringify` produces different bytes.
 * Gitea sends an empty signature when its webhook has no secret: that is `missing`.
 */
export function verifyGiteaSignature(rawBody: Buffer, secret: string, headers: HeaderMap): SignatureVerdict {
  const candidates: string[] = [];
  const gitea = headerValue(headers, 'x-gitea-signature');
  if (gitea) candidates.push(gitea);
  const hub = headerValue(headers, 'x-hub-signature-256');
  if (hub) candidates.push(hub.trim().toLowerCase().startsWith('sha256=') ? hub.trim().slice(7) : '');
  if (candidates.length === 0) return { ok: false, reason: 'missing' };
  const expected = Buffer.from(giteaSignature(secret, rawBody), 'hex');
  return candidates.some((c) => matches(c, expected)) ? { ok: true } : { ok: false, reason: 'mismatch' };
}
