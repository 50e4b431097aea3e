/* eslint-disable no-restricted-properties -- like the real runtime, a test agent reads its boot
   contract (PORT, HOST) from the environment. */
// A tiny stand-in for the workspace agent, for the local driver's integration tests. It serves
// /health on $HOST:$PORT, records the NAMES (never the values) of its environment variables in
// env-keys.json in its working directory, and starts a grandchild in its process group so a
// test can check that terminate stops the whole group.
const { spawn } = require('node:child_process');
const { writeFileSync } = require('node:fs');
const { createServer } = require('node:http');

const grandchild = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
  stdio: 'ignore',
});
writeFileSync('env-keys.json', JSON.stringify(Object.keys(process.env).sort()));
writeFileSync('grandchild.pid', String(grandchild.pid));

// Lets a test check that a host which ignores SIGTERM is killed after the grace period.
if (process.env.FIXTURE_IGNORE_SIGTERM === '1') process.on('SIGTERM', () => undefined);

createServer((request, response) => {
  response.writeHead(request.url === '/health' ? 200 : 404, { 'content-type': 'text/plain' });
  response.end(request.url === '/health' ? 'ok' : 'not found');
}).listen(Number(process.env.PORT), process.env.HOST);
