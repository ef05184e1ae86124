const HEX = '0123456789abcdef';

/** `\u00XX`-style escape with Go's lower-case hex digits. */
const u = (code: number): string => `\\u${HEX[(code >> 12) & 15]}${HEX[(code >> 8) & 15]}${HEX[(code >> 4) & 15]}${HEX[code & 15]}`;

/**
 * A JSON string exactly as Go's `encoding/json` writes it with HTML escaping on
 * (the default): `<`, `>`, `&`, U+2028 and U+2029 as `\u…`; `\b \f \n \r \t`
 * short (Go ≥ 1.22, which Gitea 1.23 is built with); other control characters as
 * `\u00xx`; everything else, non-ASCII included, as raw UTF-8. A lone surrogate is
 * invalid UTF-8 to Go and becomes `\ufffd`.
 */
export function goString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26 || c === 0x2028 || c === 0x2029) out += u(c);
    else if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        out += s[i]! + s[i + 1]!;
        i++;
      } else out += '\\ufffd';
    } else if (c >= 0xdc00 && c <= 0xdfff) out += '\\ufffd';
    else out += s[i]!;
  }
  return `${out}"`;
}

function encode(v: unknown, indent: string, step: string): string {
  if (v === null || v === undefined) return 'null';
  switch (typeof v) {
    case 'string':
      return goString(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(v)) throw new TypeError(`json: unsupported value: ${v}`);
      // Go's float formatting switches to exponents at the same bounds as JS (1e-6, 1e21).
      return String(v);
    case 'object': {
      const inner = indent + step;
      if (Array.isArray(v)) {
        if (v.length === 0) return '[]';
        return `[\n${v.map((x) => inner + encode(x, inner, step)).join(',\n')}\n${indent}]`;
      }
      const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
      if (entries.length === 0) return '{}';
      return `{\n${entries.map(([k, x]) => `${inner}${goString(k)}: ${encode(x, inner, step)}`).join(',\n')}\n${indent}}`;
    }
    default:
      throw new TypeError(`json: unsupported type: ${typeof v}`);
  }
}

/**
 * The bytes of Go's `json.MarshalIndent(v, "", "  ")` — Gitea's webhook bodies —
 * for a plain JSON value. Keys keep insertion order (Go writes struct fields in
 * declaration order; Gitea's payloads are structs), empty arrays and objects stay
 * `[]` / `{}`, and there is no trailing newline.
 */
export function goMarshalIndent(value: unknown, indent = '  '): string {
  return encode(value, '', indent);
}
