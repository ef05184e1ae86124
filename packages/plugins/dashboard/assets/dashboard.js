// The dashboard's only script: plain JavaScript, no dependency, no build step.
// Pages are rendered on the server; this keeps <main> fresh from the page's
// fragment when GET /events reports a change, and sends actions to the API with
// the token, which lives in this tab's sessionStorage only (never a URL, never a cookie).
const TOKEN_KEY = 'conveyor.token';
const main = document.getElementById('main');
const live = document.getElementById('live');
const flashBox = document.getElementById('flash');
const tokenForm = document.getElementById('token-form');
const tokenInput = document.getElementById('token-input');
const tokenMessage = document.getElementById('token-message');
const forget = document.getElementById('token-forget');
/** Log tails a person opened, by run id: kept across refreshes of <main>. */
const openLogs = new Map();
let lastEventId = null;
let refreshTimer = null;
let refreshWanted = false;
/** What waits for a token: a function run once one is entered. */
let afterToken = null;

const token = () => sessionStorage.getItem(TOKEN_KEY);
const authHeaders = () => (token() ? { authorization: `Bearer ${token()}` } : {});

function flash(text) {
  flashBox.textContent = text;
  clearTimeout(flash.timer);
  flash.timer = setTimeout(() => (flashBox.textContent = ''), 6000);
}

function setLive(state, text) {
  live.className = `live ${state}`;
  live.textContent = text;
}

function askToken(message, then) {
  tokenForm.hidden = false;
  tokenMessage.textContent = message;
  afterToken = then ?? afterToken;
  tokenInput.focus();
}

function showTokenState() {
  forget.hidden = !token();
}

/** Re-reads <main> from the server. Put off while a person types in it. */
async function refresh() {
  refreshTimer = null;
  const active = document.activeElement;
  if (active && main.contains(active) && active.matches('input, select, textarea')) {
    refreshWanted = true;
    return;
  }
  refreshWanted = false;
  const focusedAction = active?.closest?.('[data-action]')?.dataset.action;
  let res;
  try {
    res = await fetch(main.dataset.fragment, { headers: authHeaders(), cache: 'no-store' });
  } catch {
    return;
  }
  if (res.status === 401) {
    const body = await res.json().catch(() => ({}));
    if (body.message === 'invalid bearer token') sessionStorage.removeItem(TOKEN_KEY);
    askToken(body.message === 'invalid bearer token' ? 'That token is wrong: enter the API token again.' : 'This host needs the API token to read.', refresh);
    return;
  }
  main.innerHTML = await res.text();
  delete main.dataset.needsToken;
  const title = res.headers.get('x-page-title');
  if (title) document.title = `${decodeURIComponent(title)} · ${document.title.split(' · ').pop()}`;
  for (const [run, text] of openLogs) showLog(run, text);
  if (focusedAction) main.querySelector(`[data-action="${focusedAction}"] button`)?.focus();
  main.dataset.refreshed = String(Number(main.dataset.refreshed ?? 0) + 1);
}

function scheduleRefresh() {
  if (refreshTimer === null) refreshTimer = setTimeout(refresh, 150);
}

function handleEvent(block) {
  let event = 'message';
  for (const line of block.split('\n')) {
    if (line.startsWith('id:')) lastEventId = line.slice(3).trim();
    else if (line.startsWith('event:')) event = line.slice(6).trim();
  }
  if (event !== 'message') {
    document.body.dataset.lastEvent = event;
    scheduleRefresh();
  }
}

/** GET /events with the token in a header (EventSource cannot send one), reconnecting with Last-Event-ID. */
async function stream() {
  let connected = false;
  for (;;) {
    try {
      const headers = { ...authHeaders(), accept: 'text/event-stream' };
      if (lastEventId) headers['last-event-id'] = lastEventId;
      const res = await fetch('/events', { headers, cache: 'no-store' });
      if (res.status === 401) {
        setLive('off', 'not live: the token is needed');
        await new Promise((resolve) => askToken('Live updates need the API token.', resolve));
        continue;
      }
      if (!res.ok || !res.body) throw new Error(`GET /events answered ${res.status}`);
      setLive('on', 'live');
      // What happened while the stream was down: the replay says, and a fresh read shows it.
      if (connected) scheduleRefresh();
      connected = true;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          handleEvent(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch {
      // fall through to the reconnect below
    }
    setLive('off', 'reconnecting…');
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

function showLog(run, text) {
  const pre = document.getElementById(`log-${run}`);
  if (!pre) return;
  pre.textContent = text;
  pre.hidden = false;
}

async function loadLog(button) {
  if (!token()) return askToken('Logs need the API token.', () => loadLog(button));
  const res = await fetch(button.dataset.logUrl, { headers: authHeaders(), cache: 'no-store' });
  const body = await res.json().catch(() => ({}));
  if (res.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    showTokenState();
    return askToken(body.message === 'invalid bearer token' ? 'That token is wrong: enter the API token again.' : 'Logs need the API token.', () => loadLog(button));
  }
  if (!res.ok) return flash(`The log could not be read: ${body.message ?? res.status}`);
  const run = (body.runs ?? []).find((r) => String(r.runId) === button.dataset.run);
  const text = run?.missing ? '(no log kept for this run)' : (run?.text ?? '').split('\n').slice(-40).join('\n');
  openLogs.set(button.dataset.run, text);
  showLog(button.dataset.run, text);
}

async function act(form) {
  if (!token()) return askToken('Actions need the API token.', () => act(form));
  const label = form.querySelector('button[type="submit"]').textContent;
  const body = {};
  if (form.elements.comment) body.comment = form.elements.comment.value;
  if (form.elements.usd) body.usd = Number(form.elements.usd.value);
  const res = await fetch(form.dataset.url, { method: form.dataset.method, headers: { ...authHeaders(), 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const answer = await res.json().catch(() => ({}));
  if (res.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    showTokenState();
    return askToken(answer.message === 'invalid bearer token' ? 'That token is wrong: enter the API token again.' : 'Actions need the API token.', () => act(form));
  }
  flash(res.ok ? `${label}: done.` : `${label} refused: ${answer.message ?? res.status}`);
  form.reset();
  scheduleRefresh();
}

/** Checks a token before keeping it, so a wrong one says so at once. */
async function checkToken(candidate) {
  const res = await fetch('/ui/token-check', { headers: { authorization: `Bearer ${candidate}` }, cache: 'no-store' });
  return res.ok;
}

document.addEventListener('submit', async (e) => {
  const form = e.target;
  if (form === tokenForm) {
    e.preventDefault();
    const candidate = tokenInput.value.trim();
    if (!candidate) return;
    if (!(await checkToken(candidate))) {
      tokenMessage.textContent = 'That token is wrong: the host refused it.';
      tokenInput.select();
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, candidate);
    tokenInput.value = '';
    tokenForm.hidden = true;
    tokenMessage.textContent = '';
    showTokenState();
    const next = afterToken;
    afterToken = null;
    if (next) next();
    return;
  }
  if (form.matches('form.action')) {
    e.preventDefault();
    await act(form);
  }
});

document.addEventListener('click', (e) => {
  const button = e.target.closest?.('button[data-log-url]');
  if (button) loadLog(button);
});

document.addEventListener('focusout', () => {
  if (refreshWanted) setTimeout(() => refreshWanted && scheduleRefresh(), 0);
});

forget.addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  showTokenState();
  flash('The token is forgotten for this tab.');
});

showTokenState();
if (main.dataset.needsToken) {
  if (token()) refresh();
  else askToken('This host needs the API token to read.', refresh);
}
stream();
