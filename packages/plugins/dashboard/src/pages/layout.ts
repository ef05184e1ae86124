import { html, type Html } from '../html.js';

export type PageName = 'tasks' | 'task' | 'queue' | 'cost';

export interface LayoutInput {
  title: string;
  page: PageName;
  /** The read-guarded fragment the page's `<main>` is re-read from (live updates, token mode). */
  fragmentUrl: string;
  /** The page's content, or null when reads need the token (the script loads it once one is entered). */
  content: Html | null;
  instanceTitle: string;
}

const NAV: { page: PageName; href: string; label: string }[] = [
  { page: 'tasks', href: '/ui', label: 'Tasks' },
  { page: 'queue', href: '/ui/queue', label: 'Queue' },
  { page: 'cost', href: '/ui/cost', label: 'Cost' },
];

/**
 * The whole page: a header with the navigation, the live status and the token
 * form, then `<main>`. Content is rendered on the server, so a page reads without
 * JavaScript; the script only swaps `<main>` for a fresher copy and sends actions.
 */
export function layout(input: LayoutInput): Html {
  const current = input.page === 'task' ? 'tasks' : input.page;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${input.title} · ${input.instanceTitle}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/ui/assets/dashboard.css">
<script type="module" src="/ui/assets/dashboard.js"></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <span class="brand">${input.instanceTitle}</span>
  <nav aria-label="Pages"><ul>${NAV.map((n) => html`<li><a href="${n.href}"${n.page === current ? html` aria-current="page"` : ''}>${n.label}</a></li>`)}</ul></nav>
  <span id="live" class="live" role="status" aria-live="polite">${input.content ? 'static' : ''}</span>
  <form id="token-form" class="token" hidden>
    <label for="token-input">API token</label>
    <input id="token-input" name="token" type="password" autocomplete="off" spellcheck="false">
    <button type="submit">Use token</button>
    <span id="token-message" role="alert"></span>
  </form>
  <button id="token-forget" type="button" class="link" hidden>Forget token</button>
</header>
<main id="main" tabindex="-1" data-fragment="${input.fragmentUrl}"${input.content ? '' : html` data-needs-token="true"`}>
${input.content ?? html`<h1>${input.title}</h1><p class="notice">This host needs the API token to read. Enter it above (JavaScript is needed for that); it is kept for this browser tab only.</p>`}
</main>
<p id="flash" class="flash" role="status" aria-live="polite"></p>
<noscript><p class="notice">Without JavaScript the page does not update by itself and its buttons do nothing: reload to refresh; act with <code>conveyor task …</code>.</p></noscript>
</body>
</html>
`;
}
