import assert from 'node:assert/strict';
import { test } from 'node:test';
import { signPlaneBody, verifyPlaneSignature } from '../src/index.js';
import { FAKE_WEBHOOK_SECRET, planeFixture } from '../src/testing/index.js';

// The shared fixtures' SIGNATURES.md: secret, worked example, and each fixture's header.
const SECRET = 'plane_wh_5f2b8c1d9e7a4b3c8d6e0f1a2b3c4d5e';
const WORKED_BODY =
  '{"event": "issue", "action": "updated", "webhook_id": "c4e1a7b2-58d9-4f3e-b0a6-7d2c9e1f4a83", "workspace_id": "9a2d4c6e-1b3f-4e5a-8c7d-0f1e2d3c4b5a", "data": {"id": "d6f1c2a8-4b7e-4e9d-8a31-6c5b2f0e9d17", "name": "Caf\\u00e9 retry"}, "activity": {"field": "state_id", "new_value": "7c2e9d41-5a8b-4f3c-b6e1-0d9a8c7b6e5f", "old_value": "0f6b3a1e-2c4d-4b8a-9e7f-5d1c2b3a4f60", "actor": {"id": "3b8e2f1a-9c4d-4e6b-a7f0-1d2c3e4f5a6b", "display_name": "dana"}, "old_identifier": null, "new_identifier": null}}';
const WORKED_SIG = '3671cf26f89e687228677a352b62456dca020521cb3d29dabfcd33c38e04d5d5';
const WORKED_TRAP = '4eeba984ca8f742faf9d7ff3cf07645f23cf77bad28c4466a69aefda2c95365e';
const FIXTURES: [string, string][] = [
  ['plane-issue-updated.json', '2c5f38a4cefde70333bdcec20ea8a14d20eaffd60b144fc64d66a47e33293466'],
  ['plane-issue-created.json', 'ed4f75518bc5af5c6f74400a4efcc1661211ee79a4cd4cd91092e13b2cb901d7'],
];

test('the fake uses the fixtures\' secret', () => assert.equal(FAKE_WEBHOOK_SECRET, SECRET));

test('the worked example verifies; its JSON.stringify form is the documented trap and is rejected', () => {
  const raw = Buffer.from(WORKED_BODY, 'utf8');
  assert.equal(signPlaneBody(raw, SECRET), WORKED_SIG);
  assert.equal(verifyPlaneSignature(raw, SECRET, WORKED_SIG), true);
  const restrung = Buffer.from(JSON.stringify(JSON.parse(WORKED_BODY)), 'utf8');
  assert.equal(signPlaneBody(restrung, SECRET), WORKED_TRAP);
  assert.equal(verifyPlaneSignature(restrung, SECRET, WORKED_SIG), false);
});

for (const [file, sig] of FIXTURES) {
  test(`${file} verifies with its SIGNATURES.md signature; re-serialised it does not`, () => {
    const raw = planeFixture(file);
    assert.equal(verifyPlaneSignature(raw, SECRET, sig), true);
    assert.equal(verifyPlaneSignature(raw, SECRET, sig.toUpperCase()), true, 'hex case does not matter');
    const restrung = Buffer.from(JSON.stringify(JSON.parse(raw.toString('utf8'))), 'utf8');
    assert.equal(verifyPlaneSignature(restrung, SECRET, sig), false);
    assert.equal(verifyPlaneSignature(raw, 'plane_wh_other', sig), false, 'another secret');
  });
}

test('missing, repeated, short, long, non-hex, prefixed or empty headers are rejected without throwing', () => {
  const raw = planeFixture('plane-issue-updated.json');
  const sig = FIXTURES[0]![1];
  for (const header of [undefined, '', [sig, sig], sig.slice(0, 63), `${sig}00`, `${sig.slice(0, 63)}z`, `sha256=${sig}`, 'x'.repeat(64)]) {
    assert.equal(verifyPlaneSignature(raw, SECRET, header), false, `header ${JSON.stringify(header)}`);
  }
  assert.equal(verifyPlaneSignature(raw, '', sig), false, 'no secret configured never verifies');
  assert.equal(verifyPlaneSignature(Buffer.alloc(0), SECRET, sig), false, 'an empty body');
});
