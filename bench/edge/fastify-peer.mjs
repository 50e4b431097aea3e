// The peer: @fastify/http-proxy doing the edge router's job the way a Fastify user would, with
// the same routing table (1,000 Host entries → upstream and tenant token), the same visitor check
// (a cached org key, here an in-memory Set), the same header rewriting (tenant credential
// injected, client credential and identity headers dropped, X-Forwarded-* set).
import fastifyHttpProxy from '@fastify/http-proxy';
import Fastify from 'fastify';
import { readFileSync } from 'node:fs';

const { port, upstream, routes, visitorKey } = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const table = new Map(Object.entries(routes).map(([host, token]) => [host, { upstream, token }]));
const visitors = new Set([visitorKey]);

const app = Fastify({ logger: false });
app.addHook('onRequest', async (request, reply) => {
  const host = (request.headers.host ?? '').split(':')[0];
  const route = table.get(host);
  if (route === undefined) return reply.code(404).send('no such tenant');
  if (!visitors.has(request.headers['x-api-key'])) return reply.code(401).send('unauthorized');
  request.route = route;
});
await app.register(fastifyHttpProxy, {
  upstream,
  replyOptions: {
    getUpstream: (request) => request.route.upstream,
    rewriteRequestHeaders: (request, headers) => {
      const out = { ...headers };
      delete out.cookie;
      delete out['x-api-key'];
      delete out['x-workspace-id'];
      for (const name of Object.keys(out)) if (name.startsWith('x-molecule-')) delete out[name];
      out.authorization = `Bearer ${request.route.token}`;
      out['x-forwarded-for'] = request.ip;
      out['x-forwarded-host'] = request.headers.host;
      out['x-forwarded-proto'] = 'http';
      return out;
    },
  },
  undici: { connections: 128, pipelining: 1 },
});
await app.listen({ port, host: '127.0.0.1' });
process.stdout.write('ready\n');
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
