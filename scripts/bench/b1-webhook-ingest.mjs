// B1: signed webhook ingest through the real host (verify the HMAC over the raw
// body, record the delivery in the inbox, answer 202; processing runs after the
// reply) against a bare fastify route taking the same 4 KB body, both loaded by
// autocannon from this process over 127.0.0.1, in alternating rounds.
import { spawn } from 'node:child_process';
import { track } from './children.mjs';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { openDatabase } from '../../packages/core/dist/src/index.js';
import { LOCAL_SQLITE_YAML, startHost } from './host-process.mjs';
import { line } from './result.mjs';
import { median } from './stats.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const FIXTURE = path.resolve(HERE, '../../packages/plugins/forge-gitea/test/fixtures/gitea-status-success.json');
const SECRET = 'bench-webhook-secret';
const REPO = 'acme/orchestrator';

/** Host config: Gitea forge with a webhook secret, the worker idle, SQLite in the data dir. */
const hostYaml = () => `${LOCAL_SQLITE_YAML}repos:
  ${REPO}: {}
plugins:
  forge-git:
    enabled: false
  forge-gitea:
    enabled: true
    baseUrl: http://127.0.0.1:9
    token: \${BENCH_GITEA_TOKEN}
    webhookSecret: \${BENCH_GITEA_SECRET}
`;

/** Starts the bare fastify baseline in its own process. */
async function startBare() {
  const child = track(spawn(process.execPath, [path.join(HERE, 'bare-server.mjs')], { stdio: ['ignore', 'ignore', 'pipe'] }));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let err = '';
  const url = await new Promise((resolve, reject) => {
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c) => {
      err += c;
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) resolve(m[1]);
    });
    exited.then((code) => reject(new Error(`bare server exited (${code}): ${err}`)));
  });
  return { url, stop: async () => { child.kill('SIGTERM'); await exited; } };
}

// One sequence for the whole run: every round's requests must differ from every
// other round's (random ids collided: ~5 in 100k draws from 1e9).
let seq = 0;

/**
 * Every request carries a distinct status id, so each one is a new delivery
 * (an insert, not a duplicate), signed like Gitea signs it.
 */
function requestFactory() {
  const base = JSON.parse(fs.readFileSync(FIXTURE, 'utf8'));
  base.repository.full_name = REPO;
  return (req) => {
    base.id = ++seq;
    const body = JSON.stringify(base, null, 2);
    const sig = crypto.createHmac('sha256', SECRET).update(body).digest('hex');
    return { ...req, body, headers: { ...req.headers, 'x-gitea-signature': sig, 'x-gitea-event': 'status', 'x-gitea-delivery': String(seq) } };
  };
}

/** One autocannon run, bounded by `amount` requests and by `duration` seconds, whichever comes first. */
async function load(url, { connections, amount, duration }) {
  const result = await new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${url}/webhooks/gitea`,
        method: 'POST',
        connections,
        amount,
        headers: { 'content-type': 'application/json' },
        requests: [{ setupRequest: requestFactory() }],
      },
      (err, res) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(res);
      },
    );
    // autocannon lets `amount` override `duration`; the timer keeps the time bound.
    const timer = setTimeout(() => instance.stop(), duration * 1000);
  });
  const non2xx = result.non2xx + result.errors + result.timeouts;
  // `requests.average` is a per-second mean that a sub-second run rounds away: use total / elapsed.
  return { rps: (result.requests.total * 1000) / Math.max(1, result.finish - result.start), p99: result.latency.p99, total: result.requests.total, non2xx };
}

/** Deliveries the host recorded: proves each request was an insert, not a duplicate. */
async function inboxRows(dbFile) {
  const db = await openDatabase({ client: 'sqlite', filename: dbFile });
  try {
    const rows = await db.knex('webhook_inbox').count({ n: '*' });
    return Number(rows[0].n);
  } finally {
    await db.close();
  }
}

/** @param {{ dir: string, sizes: { rounds: number, b1Amount: number, b1Connections: number, b1Seconds: number }, log: Function }} o */
export async function runB1(o) {
  const { rounds, b1Amount: amount, b1Connections: connections, b1Seconds: duration } = o.sizes;
  const hostDir = path.join(o.dir, 'b1-host');
  const host = await startHost({ dir: hostDir, yaml: hostYaml(), env: { BENCH_GITEA_TOKEN: 'x', BENCH_GITEA_SECRET: SECRET } });
  const bare = await startBare();
  const s = { host: { rps: [], p99: [] }, bare: { rps: [], p99: [] } };
  let sent = 0;
  try {
    // Warm both (JIT, SQLite pages) untimed.
    for (const t of [host, bare]) sent += t === host ? (await load(t.url, { connections, amount: Math.min(500, amount), duration })).total : 0;
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? ['host', 'bare'] : ['bare', 'host'];
      for (const name of order) {
        const res = await load(name === 'host' ? host.url : bare.url, { connections, amount, duration });
        if (res.non2xx > 0) throw new Error(`B1 ${name}: ${res.non2xx} of ${res.total} requests were not 2xx`);
        if (name === 'host') sent += res.total;
        s[name].rps.push(res.rps);
        s[name].p99.push(res.p99);
      }
      o.log(`  B1 round ${r + 1}/${rounds}: host ${Math.round(s.host.rps.at(-1))} req/s p99 ${s.host.p99.at(-1)} ms, bare ${Math.round(s.bare.rps.at(-1))} req/s p99 ${s.bare.p99.at(-1)} ms`);
    }
  } finally {
    await host.stop();
    await bare.stop();
  }
  const recorded = await inboxRows(path.join(hostDir, 'data', 'conveyor.db'));
  if (recorded < sent) throw new Error(`B1: the host answered ${sent} deliveries but recorded ${recorded}`);
  o.log(`  B1: ${recorded} deliveries recorded in the inbox for ${sent} requests`);
  const rps = { host: median(s.host.rps), bare: median(s.bare.rps) };
  const p99 = { host: median(s.host.p99), bare: median(s.bare.p99) };
  // p99 of a bare route is often 1 ms on a quiet machine; ratios against it are coarse.
  return [
    line({ id: 'B1', metric: `signed webhook ingest req/s, ${connections} connections, 4 KB body (vs bare fastify)`, value: rps.host, baseline: rps.bare, target: '≥ 0.5', met: rps.host / rps.bare >= 0.5 }),
    line({ id: 'B1', metric: 'signed webhook ingest p99 ms (vs bare fastify)', value: p99.host, baseline: p99.bare, ratio: p99.host / Math.max(p99.bare, 1), target: '≤ 3', met: p99.host <= 3 * Math.max(p99.bare, 1) }),
  ];
}
