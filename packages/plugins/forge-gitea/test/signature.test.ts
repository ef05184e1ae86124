import assert from 'node:assert/strict';
import { test } from 'node:test';
import { giteaSignature, verifyGiteaSignature } from '../src/index.js';
import { fixture, FIXTURE_SECRET, FIXTURES } from './helpers.js';

const WORKED_BODY = '{\n  "ref": "refs/heads/main",\n  "before": "9f2c4e1a7b3d5f60812a4c6e8b0d2f4a6c8e0b1d",\n  "after": "4b7e1d9c2a5f8e3b6d0c9a2f5e8b1d4c7a0f3e6b"\n}';
const WORKED_SIG = '2d245b157c7702e4f1276b8534ddf0110d2ec304198d30c14a37416228244fbe';

test('SIGNATURES.md worked example: the documented signature, under either header', () => {
  const body = Buffer.from(WORKED_BODY);
  assert.equal(giteaSignature(FIXTURE_SECRET, body), WORKED_SIG);
  assert.deepEqual(verifyGiteaSignature(body, FIXTURE_SECRET, { 'x-gitea-signature': WORKED_SIG }), { ok: true });
  assert.deepEqual(verifyGiteaSignature(body, FIXTURE_SECRET, { 'x-hub-signature-256': `sha256=${WORKED_SIG}` }), { ok: true });
});

for (const f of FIXTURES) {
  test(`${f.file}: verifies with its SIGNATURES.md signature; re-serialised JSON does not`, () => {
    const raw = fixture(f.file);
    assert.equal(giteaSignature(FIXTURE_SECRET, raw), f.signature);
    assert.deepEqual(verifyGiteaSignature(raw, FIXTURE_SECRET, { 'x-gitea-signature': f.signature }), { ok: true });
    assert.deepEqual(verifyGiteaSignature(raw, FIXTURE_SECRET, { 'x-hub-signature-256': `sha256=${f.signature}` }), { ok: true });
    assert.deepEqual(verifyGiteaSignature(raw, FIXTURE_SECRET, { 'x-gitea-signature': [f.signature] }), { ok: true }, 'a repeated header: its first value');
    // The trap: the same content, re-serialised by Node, is other bytes.
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(raw.toString('utf8'))));
    assert.deepEqual(verifyGiteaSignature(reserialised, FIXTURE_SECRET, { 'x-gitea-signature': f.signature }), { ok: false, reason: 'mismatch' });
    assert.deepEqual(verifyGiteaSignature(reserialised, FIXTURE_SECRET, { 'x-hub-signature-256': `sha256=${f.signature}` }), { ok: false, reason: 'mismatch' });
  });
}

test('missing, empty, wrong, truncated or malformed signatures are refused without throwing', () => {
  const raw = fixture('gitea-push.json');
  const sig = FIXTURES[3].signature;
  const refuse = (headers: Record<string, string | string[] | undefined>, reason: 'missing' | 'mismatch') =>
    assert.deepEqual(verifyGiteaSignature(raw, FIXTURE_SECRET, headers), { ok: false, reason }, JSON.stringify(headers));
  refuse({}, 'missing');
  // Gitea sends an empty signature when its webhook has no secret.
  refuse({ 'x-gitea-signature': '', 'x-hub-signature-256': '' }, 'missing');
  refuse({ 'x-gitea-signature': sig.replace(/.$/, (c) => (c === '0' ? '1' : '0')) }, 'mismatch');
  refuse({ 'x-gitea-signature': sig.slice(0, 63) }, 'mismatch');
  refuse({ 'x-gitea-signature': `${sig}00` }, 'mismatch');
  refuse({ 'x-gitea-signature': 'not hex at all, but long enough to be confused with a signature!!' }, 'mismatch');
  refuse({ 'x-hub-signature-256': sig }, 'mismatch');
  refuse({ 'x-hub-signature-256': `sha1=${sig}` }, 'mismatch');
  refuse({ 'x-gitea-signature': giteaSignature('another-secret', raw) }, 'mismatch');
  assert.deepEqual(verifyGiteaSignature(raw, 'another-secret', { 'x-gitea-signature': sig }), { ok: false, reason: 'mismatch' });
});

test('either header suffices: a wrong X-Gitea-Signature next to a right X-Hub-Signature-256 passes, and the reverse', () => {
  const raw = fixture('gitea-push.json');
  const sig = FIXTURES[3].signature;
  assert.deepEqual(verifyGiteaSignature(raw, FIXTURE_SECRET, { 'x-gitea-signature': 'f'.repeat(64), 'x-hub-signature-256': `sha256=${sig}` }), { ok: true });
  assert.deepEqual(verifyGiteaSignature(raw, FIXTURE_SECRET, { 'x-gitea-signature': sig, 'x-hub-signature-256': 'sha256=00' }), { ok: true });
  assert.deepEqual(verifyGiteaSignature(raw, FIXTURE_SECRET, { 'x-gitea-signature': sig.toUpperCase() }), { ok: true }, 'hex case does not matter');
});
