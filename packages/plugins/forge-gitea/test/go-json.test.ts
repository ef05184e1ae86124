import assert from 'node:assert/strict';
import { test } from 'node:test';
import { goMarshalIndent, goString } from '../src/testing/index.js';
import { fixture, FIXTURES } from './helpers.js';

for (const f of FIXTURES) {
  test(`goMarshalIndent reproduces ${f.file} byte for byte from its parsed form`, () => {
    const raw = fixture(f.file);
    assert.equal(raw.at(-1), 0x7d, 'the fixture ends with "}" and no newline, like Gitea');
    assert.ok(Buffer.from(goMarshalIndent(JSON.parse(raw.toString('utf8')))).equals(raw));
  });
}

test('Go string escaping: HTML characters, line separators, control characters; non-ASCII raw', () => {
  assert.equal(goString('<a href="x">&</a>'), '"\\u003ca href=\\"x\\"\\u003e\\u0026\\u003c/a\\u003e"');
  assert.equal(goString('a\u2028b\u2029c'), '"a\\u2028b\\u2029c"');
  assert.equal(goString('\b\f\n\r\t\u0001\u001f\u007f'), '"\\b\\f\\n\\r\\t\\u0001\\u001f\u007f"');
  assert.equal(goString('back\\slash / slash'), '"back\\\\slash / slash"');
  assert.equal(goString('Café – 日本 😀'), '"Café – 日本 😀"');
  assert.equal(goString('lone \ud800 and \udc00'), '"lone \\ufffd and \\ufffd"');
});

test('Go layout: empty containers stay compact, nesting indents by two spaces, null and numbers as Go writes them', () => {
  const v = { a: [], b: {}, c: [1, { d: null }], e: true, f: 1.5, g: -3, h: 1e21, i: 1e-7 };
  assert.equal(
    goMarshalIndent(v),
    '{\n  "a": [],\n  "b": {},\n  "c": [\n    1,\n    {\n      "d": null\n    }\n  ],\n  "e": true,\n  "f": 1.5,\n  "g": -3,\n  "h": 1e+21,\n  "i": 1e-7\n}',
  );
  assert.equal(goMarshalIndent([]), '[]');
  assert.equal(goMarshalIndent('x'), '"x"');
  assert.throws(() => goMarshalIndent({ n: Number.NaN }), /unsupported value/);
});
