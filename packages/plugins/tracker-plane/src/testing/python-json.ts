/**
 * A number that Python holds as a `float`: `json.dumps` writes `65535.0` where
 * JavaScript would write `65535`. Wrap a value in it, or name its key in `floatKeys`.
 */
export class PyFloat {
  constructor(readonly value: number) {}
}

/** Keys of Plane's Django `FloatField`s that appear in webhook bodies (`Issue.sort_order`, `State.sequence`). */
export const PLANE_FLOAT_KEYS: ReadonlySet<string> = new Set(['sort_order', 'sequence']);

export interface PythonJsonOptions {
  /** Object keys whose numeric values are Python floats. @default PLANE_FLOAT_KEYS */
  floatKeys?: ReadonlySet<string>;
}

/**
 * The bytes Python's `json.dumps(value)` produces with its defaults, which is what
 * Plane signs and sends: `", "` and `": "` separators, every character outside
 * printable ASCII escaped as `\uXXXX` (UTF-16 units, lowercase hex), no trailing
 * newline, floats in Python's `repr`. Key order is the object's own.
 */
export function pythonJsonDumps(value: unknown, options: PythonJsonOptions = {}): string {
  return dump(value, options.floatKeys ?? PLANE_FLOAT_KEYS, false);
}

function dump(v: unknown, floatKeys: ReadonlySet<string>, asFloat: boolean): string {
  if (v === null || v === undefined) return 'null';
  if (v instanceof PyFloat) return pyFloatRepr(v.value);
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(v)) throw new TypeError(`Out of range float values are not JSON compliant: ${v}`);
      return asFloat || !Number.isInteger(v) ? pyFloatRepr(v) : String(v);
    case 'string':
      return pyString(v);
    case 'object':
      if (Array.isArray(v)) return `[${v.map((x) => dump(x, floatKeys, false)).join(', ')}]`;
      return `{${Object.entries(v as Record<string, unknown>)
        .filter(([, x]) => x !== undefined)
        .map(([k, x]) => `${pyString(k)}: ${dump(x, floatKeys, floatKeys.has(k))}`)
        .join(', ')}}`;
    default:
      throw new TypeError(`Object of type ${typeof v} is not JSON serializable`);
  }
}

const SHORT: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' };

function pyString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    const code = s.charCodeAt(i);
    if (SHORT[ch]) out += SHORT[ch];
    else if (code < 0x20 || code > 0x7e) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** Python's `repr(float)`: shortest round-trip digits, fixed notation for exponents -4…15, else `1e+16` / `1.5e-07`. */
export function pyFloatRepr(n: number): string {
  if (!Number.isFinite(n)) throw new TypeError(`Out of range float values are not JSON compliant: ${n}`);
  if (n === 0) return Object.is(n, -0) ? '-0.0' : '0.0';
  const sign = n < 0 ? '-' : '';
  const [mantissa, expText] = Math.abs(n).toExponential().split('e') as [string, string];
  const digits = mantissa.replace('.', '');
  const exp = Number(expText);
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  const int = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
  const frac = digits.slice(exp + 1);
  return `${sign}${int}.${frac || '0'}`;
}
