import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header Plane signs its webhook deliveries in (lower case, as node reports headers). */
export const PLANE_SIGNATURE_HEADER = 'x-plane-signature';

const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;

/**
 * The signature Plane sends: lowercase hex HMAC-SHA256 of the body bytes, keyed
 * with the webhook's secret, no prefix.
 */
export function signPlaneBody(body: Buffer | string, secret: string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/**
 * True only when `header` is the HMAC of exactly `rawBody`. Plane signs the bytes of
 * Python's `json.dumps`, so the body must never be parsed and re-serialised first:
 * `JSON.stringify` changes separators and escapes and the signature would not match.
 * A missing, repeated (array), wrongly sized or non-hex header is a plain `false`,
 * never a throw: `timingSafeEqual` throws on unequal lengths, so both sides are
 * compared as decoded 32-byte digests.
 */
export function verifyPlaneSignature(rawBody: Buffer, secret: string, header: string | readonly string[] | undefined): boolean {
  if (!secret || typeof header !== 'string') return false;
  const given = header.trim();
  if (!HEX_SHA256.test(given)) return false;
  const a = Buffer.from(given, 'hex');
  const b = createHmac('sha256', secret).update(rawBody).digest();
  return a.length === b.length && timingSafeEqual(a, b);
}
