// The floor for any Node.js proxy on this machine: a node:http server in front of an undici Pool,
// doing nothing of the router's work but what no proxy can skip: the visitor check (one string
// compare) and the tenant credential (so the upstream answers 200). No routing table, no header
// rewriting, no Nest. Its CPU per request and its tail are what Node's HTTP server and undici
// cost by themselves, measured beside the router in the same run (docs/benchmarks.md).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { Pool } from 'undici';

const { port, upstream, token, visitorKey } = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const pool = new Pool(upstream, { connections: 128 });
const upstreamHeaders = { authorization: `Bearer ${token}` };

const server = createServer((req, res) => {
  if (req.headers['x-api-key'] !== visitorKey) {
    res.writeHead(401, { 'content-length': 0 }).end();
    return;
  }
  pool.stream(
    { path: req.url, method: req.method, headers: upstreamHeaders },
    ({ statusCode, headers }) => {
      res.writeHead(statusCode, headers);
      return res;
    },
    (error) => {
      if (error === null || error === undefined) return;
      if (res.headersSent) res.destroy();
      else res.writeHead(502, { 'content-length': 0 }).end();
    },
  );
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => process.exit(0));
