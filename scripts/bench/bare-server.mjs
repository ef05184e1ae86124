#!/usr/bin/env node
// B1's baseline: a bare fastify 5 server with one POST route that parses the JSON
// body and answers 202, nothing else (no logger, no verify, no database). Run as
// its own process so it is loaded exactly like the host. Prints
// "listening on <url>" to stderr, like `conveyor start`.
import Fastify from 'fastify';

const app = Fastify({ logger: false, bodyLimit: 5 * 1024 * 1024 });
app.post('/webhooks/gitea', async (_request, reply) => reply.code(202).send({ accepted: true }));
const url = await app.listen({ host: '127.0.0.1', port: 0 });
process.stderr.write(`bare fastify listening on ${url}\n`);
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => void app.close().then(() => process.exit(0)));
