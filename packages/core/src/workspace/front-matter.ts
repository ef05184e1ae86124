import { parse as parseYaml } from 'yaml';

/**
 * Splits a Markdown artefact into its YAML front matter and body. A missing or
 * unparseable front matter gives `{}`: a verdict gate then fails with "no key",
 * which tells the agent what to fix, instead of crashing the advance.
 */
export function parseFrontMatter(text: string): { frontMatter: Record<string, unknown>; body: string } {
  const m = /^\uFEFF?---[ \t]*\r?\n([\s\S]*?)\r?\n---[ \t]*(?:\r?\n|$)([\s\S]*)$/.exec(text);
  if (!m) return { frontMatter: {}, body: text };
  try {
    const parsed: unknown = parseYaml(m[1]!);
    const frontMatter = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
    return { frontMatter, body: m[2] ?? '' };
  } catch {
    return { frontMatter: {}, body: text };
  }
}
