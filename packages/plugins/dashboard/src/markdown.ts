import { escapeHtml, Html } from './html.js';

/**
 * A small Markdown renderer for stage artefacts: headings, paragraphs, lists,
 * fenced code, block quotes, tables as preformatted text, and inline code,
 * emphasis and links. Every character of the source is escaped first, and links
 * keep only `http:`, `https:` and relative targets: an artefact is written by an
 * agent and must not run script in a person's browser.
 */
export function renderMarkdown(source: string): Html {
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  const out: string[] = [];
  let i = 0;
  let paragraph: string[] = [];
  const flush = (): void => {
    if (paragraph.length) out.push(`<p>${inline(paragraph.join(' '))}</p>`);
    paragraph = [];
  };
  while (i < lines.length) {
    const line = lines[i]!;
    const fence = /^\s*(```|~~~)/.exec(line);
    if (fence) {
      flush();
      const body: string[] = [];
      i++;
      while (i < lines.length && !lines[i]!.trimStart().startsWith(fence[1]!)) body.push(lines[i++]!);
      i++;
      out.push(`<pre><code>${escapeHtml(body.join('\n'))}</code></pre>`);
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      flush();
      // Page headings are h1/h2: an artefact's headings start one level below them.
      const level = Math.min(heading[1]!.length + 2, 6);
      out.push(`<h${level}>${inline(heading[2]!.replace(/\s+#+\s*$/, ''))}</h${level}>`);
      i++;
      continue;
    }
    if (/^\s*([-*+]|\d+[.)])\s+/.test(line)) {
      flush();
      const ordered = /^\s*\d/.test(line);
      const items: string[] = [];
      while (i < lines.length && /^\s*([-*+]|\d+[.)])\s+/.test(lines[i]!)) {
        items.push(`<li>${inline(lines[i]!.replace(/^\s*([-*+]|\d+[.)])\s+/, '').replace(/^\[( |x|X)\]\s+/, (_m, x: string) => (x === ' ' ? '☐ ' : '☑ ')))}</li>`);
        i++;
      }
      out.push(ordered ? `<ol>${items.join('')}</ol>` : `<ul>${items.join('')}</ul>`);
      continue;
    }
    if (/^\s*>/.test(line)) {
      flush();
      const quoted: string[] = [];
      while (i < lines.length && /^\s*>/.test(lines[i]!)) quoted.push(lines[i++]!.replace(/^\s*>\s?/, ''));
      out.push(`<blockquote>${renderMarkdown(quoted.join('\n')).text}</blockquote>`);
      continue;
    }
    if (/^\s*\|.*\|\s*$/.test(line)) {
      flush();
      const rows: string[] = [];
      while (i < lines.length && /^\s*\|.*\|\s*$/.test(lines[i]!)) rows.push(lines[i++]!);
      out.push(`<pre class="md-table">${escapeHtml(rows.join('\n'))}</pre>`);
      continue;
    }
    if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) {
      flush();
      out.push('<hr>');
      i++;
      continue;
    }
    if (line.trim() === '') flush();
    else paragraph.push(line.trim());
    i++;
  }
  flush();
  return new Html(out.join('\n'));
}

const SAFE_HREF = /^(https?:\/\/|\/(?!\/)|\.{0,2}\/|#)[^\s]*$/i;

/** Inline spans of one block: the text is escaped before any markup is added. */
function inline(text: string): string {
  const codes: string[] = [];
  // Code spans first, so nothing inside them is read as emphasis or a link.
  let s = text.replace(/`([^`]+)`/g, (_m, code: string) => `\u0000${codes.push(`<code>${escapeHtml(code)}</code>`) - 1}\u0000`);
  s = escapeHtml(s);
  s = s.replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (_m, label: string, href: string) => {
    const raw = href.replace(/&amp;/g, '&');
    return SAFE_HREF.test(raw) ? `<a href="${escapeHtml(raw)}" rel="noopener noreferrer">${label}</a>` : `${label} (${href})`;
  });
  s = s.replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>').replace(/(^|[^*])\*([^*\s][^*]*)\*/g, '$1<em>$2</em>');
  return s.replace(/\u0000(\d+)\u0000/g, (_m, n: string) => codes[Number(n)]!);
}
