// The benchmark's tenant host: a tiny node:http server with a 1 KiB body, like the reference
// measurements. It answers 401 without an Authorization header, so a proxy that forgot to inject
// the tenant credential shows up as non-2xx responses instead of a fast wrong number.
import { Buffer } from 'node:buffer';
import { createServer } from 'node:http';

const port = Number(process.argv[2]);
const body = Buffer.alloc(1024, 'x');

const server = createServer((req, res) => {
  if (req.headers.authorization === undefined) {
    res.writeHead(401, { 'content-length': 0 });
    res.end();
    return;
  }
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => process.exit(0));
