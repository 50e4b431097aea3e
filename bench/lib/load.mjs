// A small closed-loop HTTP load generator: `concurrency` keep-alive connections, each sending
// its next request as soon as the previous answered, for `seconds`. Bounded in time and
// loopback-only by construction (the caller passes 127.0.0.1 URLs).
import http from 'node:http';

export async function load({
  url,
  method = 'GET',
  seconds,
  concurrency,
  body,
  headers = () => ({}),
}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const target = new URL(url);
  const latencies = [];
  let errors = 0;
  let statuses = {};
  const deadline = Date.now() + seconds * 1000;
  const one = (i) =>
    new Promise((resolve) => {
      const payload = body ? body(i) : undefined;
      const started = process.hrtime.bigint();
      const req = http.request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method,
          headers: {
            ...(payload
              ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
              : {}),
            ...headers(i),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
            latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
            resolve();
          });
        },
      );
      req.on('error', () => {
        errors += 1;
        resolve();
      });
      req.end(payload);
    });
  let counter = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < deadline) await one(counter++);
    }),
  );
  const elapsed = (Date.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (p) =>
    latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
  return {
    requests: latencies.length,
    rate: latencies.length / elapsed,
    p50: pct(50),
    p99: pct(99),
    errors,
    statuses,
  };
}
