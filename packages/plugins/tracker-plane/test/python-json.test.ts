import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PyFloat, planeFixture, pyFloatRepr, pythonJsonDumps } from '../src/testing/index.js';

for (const file of ['plane-issue-updated.json', 'plane-issue-created.json']) {
  test(`pythonJsonDumps reproduces ${file} byte for byte from its parsed form`, () => {
    const bytes = planeFixture(file);
    const out = Buffer.from(pythonJsonDumps(JSON.parse(bytes.toString('utf8'))), 'utf8');
    assert.equal(out.toString('utf8'), bytes.toString('utf8'));
    assert.ok(out.equals(bytes));
  });
}

test('separators, escapes and floats are those of Python json.dumps', () => {
  assert.equal(pythonJsonDumps({ a: [1, 2, {}], b: [] }), '{"a": [1, 2, {}], "b": []}');
  assert.equal(pythonJsonDumps({ name: 'Café retry — ok 🚀' }), '{"name": "Caf\\u00e9 retry \\u2014 ok \\ud83d\\ude80"}');
  assert.equal(pythonJsonDumps('a"b\\c\n\t\r\b\f\u0001\u007f</'), '"a\\"b\\\\c\\n\\t\\r\\b\\f\\u0001\\u007f</"');
  assert.equal(pythonJsonDumps({ sort_order: 65535, other: 65535, x: new PyFloat(2), y: 0.5 }), '{"sort_order": 65535.0, "other": 65535, "x": 2.0, "y": 0.5}');
  assert.equal(pythonJsonDumps({ sort_order: 1 }, { floatKeys: new Set() }), '{"sort_order": 1}');
  assert.equal(pythonJsonDumps([true, false, null]), '[true, false, null]');
  assert.throws(() => pythonJsonDumps(Number.NaN), /not JSON compliant/);
});

test('pyFloatRepr follows Python repr', () => {
  const cases: [number, string][] = [
    [65535, '65535.0'], [0, '0.0'], [-0, '-0.0'], [0.1, '0.1'], [1.5, '1.5'], [-2.25, '-2.25'], [1e16, '1e+16'], [1.5e17, '1.5e+17'],
    [123456789012345.6, '123456789012345.6'], [1e-4, '0.0001'], [1.5e-5, '1.5e-05'], [1e-7, '1e-07'], [1e21, '1e+21'], [1e300, '1e+300'],
  ];
  for (const [n, want] of cases) assert.equal(pyFloatRepr(n), want, String(n));
});
