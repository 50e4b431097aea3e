import { testInfrastructure } from '@molecule/config';
import { EnvelopeCipher } from '@molecule/crypto';
import { RedisRoutePublisher, type RouteEntry } from '@molecule/routes';
import { createOrg, startTestService, type TestService } from '@molecule/testing';
import { Redis } from 'ioredis';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import {
  createServer as createHttpServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { request } from 'undici';
import type { EdgeRouterOptions } from '../src/edge-router.options';
import { createEdgeRouterService } from '../src/edge-router.service-definition';

/** A router started in-process and listening on a loopback port. */
export interface TestRouter {
  service: TestService;
  port: number;
  cipher: EnvelopeCipher;
  publisher: RedisRoutePublisher;
  redis: Redis;
  close(): Promise<void>;
}

export async function startRouter(
  options: EdgeRouterOptions = {},
  env: Record<string, string> = {},
): Promise<TestRouter> {
  const service = await startTestService(createEdgeRouterService(options), env);
  await service.app.listen({ port: 0, host: '127.0.0.1' });
  const port = (service.app.getHttpServer().address() as AddressInfo).port;
  // Routes are published straight to the real Redis, whatever URL the router itself uses.
  const redis = new Redis(testInfrastructure().redisUrl, {
    maxRetriesPerRequest: 1,
  });
  return {
    service,
    port,
    cipher: service.app.get(EnvelopeCipher),
    publisher: new RedisRoutePublisher(redis, service.config.redis.prefix),
    redis,
    async close() {
      redis.disconnect();
      await service.close();
    },
  };
}

export function tenantToken(): string {
  return `mol_ta_${randomBytes(32).toString('base64url')}`;
}

export async function publishRoute(
  router: TestRouter,
  fields: Partial<RouteEntry> & Pick<RouteEntry, 'slug' | 'orgId' | 'port'>,
  token: string,
): Promise<RouteEntry> {
  const entry: RouteEntry = {
    status: 'running',
    address: '127.0.0.1',
    protocol: 'http',
    generation: 1,
    updatedAt: new Date().toISOString(),
    ...fields,
    credential: await router.cipher.encrypt(fields.orgId, token),
  };
  const written = await router.publisher.publish(entry);
  if (!written) throw new Error('the route table refused the entry');
  return entry;
}

/** A running tenant: its org, its stand-in host and its published route. */
export interface RunningTenant {
  org: { id: string; slug: string };
  host: FakeTenantHost;
}

/** Creates an org, starts a stand-in host named `name` for it and publishes its route. */
export async function runningTenant(router: TestRouter, name: string): Promise<RunningTenant> {
  const org = await createOrg(router.service.db.dataSource);
  const host = await startFakeTenantHost(name, tenantToken());
  await publishRoute(router, { slug: org.slug, orgId: org.id, port: host.port }, host.token);
  return { org, host };
}

export interface RouterResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request to the router with an explicit Host (fetch does not let a caller set it). */
export async function get(
  port: number,
  host: string,
  path = '/',
  headers: Record<string, string> = {},
  method: 'GET' | 'POST' | 'HEAD' = 'GET',
  body?: string | Buffer,
): Promise<RouterResponse> {
  const response = await request(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { host, ...headers },
    body,
  });
  return {
    status: response.statusCode,
    headers: response.headers,
    body: await response.body.text(),
  };
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
}

/**
 * A tenant host stand-in with the contract of apps/workspace-agent in tenant mode (`/health`
 * public, everything else behind `Bearer <tenant token>`), plus what the router's tests need:
 * request recording, a header echo, an event stream, uploads and a WebSocket echo.
 */
export interface FakeTenantHost {
  name: string;
  port: number;
  token: string;
  /** Every request that reached the host, authorized or not. */
  requests: RecordedRequest[];
  /** Ends open event streams (each sent one event and waits for this). */
  releaseStreams(): void;
  /** Whether an event stream response has ended. */
  streamEnded: boolean;
  close(): Promise<void>;
}

export async function startFakeTenantHost(
  name: string,
  token: string,
  tls?: { key: string; cert: string },
): Promise<FakeTenantHost> {
  const requests: RecordedRequest[] = [];
  const waiting: (() => void)[] = [];
  const sockets = new Set<Duplex>();
  const host: FakeTenantHost = {
    name,
    port: 0,
    token,
    requests,
    streamEnded: false,
    releaseStreams: () => waiting.splice(0).forEach((release) => release()),
    close: async () => {
      host.releaseStreams();
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    requests.push({ method: req.method ?? '', path, headers: req.headers });
    if (path === '/health') return json(res, 200, { status: 'ok', name });
    if (req.headers.authorization !== `Bearer ${token}`) {
      return json(res, 401, { error: 'unauthorized' }, { 'www-authenticate': 'Bearer' });
    }
    switch (path) {
      case '/whoami':
        return json(res, 200, { name, headers: req.headers });
      case '/echo-credential':
        // A careless upstream that reflects what it was sent, in headers the router passes on.
        return json(
          res,
          200,
          { ok: true },
          {
            'x-echo-authorization': req.headers.authorization ?? '',
            'x-echo-token': token,
            'x-safe': 'kept',
          },
        );
      case '/hang':
        // Never answers (until the host closes).
        return;
      case '/drip': {
        // Ten chunks 100 ms apart: a slow body that is never silent for long.
        res.writeHead(200, { 'content-type': 'text/plain' });
        let sent = 0;
        const timer = setInterval(() => {
          res.write(`chunk ${sent}\n`);
          if (++sent === 10) {
            clearInterval(timer);
            res.end();
          }
        }, 100);
        res.on('close', () => clearInterval(timer));
        return;
      }
      case '/set-cookies':
        // A tenant that tries to plant the router's session cookie next to its own.
        res.writeHead(200, {
          'content-type': 'text/plain',
          'content-length': 2,
          'set-cookie': [
            'molecule_session=mol_vs_planted; Path=/',
            '__Host-molecule_session=mol_vs_planted; Path=/; Secure',
            'theme=dark; Path=/',
          ],
        });
        res.end('ok');
        return;
      case '/upload': {
        let bytes = 0;
        req.on('data', (chunk: Buffer) => (bytes += chunk.length));
        req.on('end', () => json(res, 200, { bytes }));
        return;
      }
      case '/sse':
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        res.write('data: first\n\n');
        waiting.push(() => {
          res.end('data: last\n\n');
          host.streamEnded = true;
        });
        return;
      default:
        return json(res, 200, { name, path });
    }
  };
  const server: Server = tls ? createHttpsServer(tls, handler) : createHttpServer(handler);
  server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
    requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers });
    if (req.headers.authorization !== `Bearer ${token}`) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n' +
        `sec-websocket-accept: ${websocketAccept(String(req.headers['sec-websocket-key']))}\r\n` +
        `x-upstream: ${name}\r\n\r\n`,
    );
    readFrames(socket, (text) => socket.write(encodeFrame(`${name}:${text}`, false)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host.port = (server.address() as AddressInfo).port;
  return host;
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

// --- A minimal WebSocket (RFC 6455) codec: text frames only, enough to prove the tunnel. ---

export function websocketAccept(key: string): string {
  return createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
}

export function encodeFrame(text: string, mask: boolean): Buffer {
  const payload = Buffer.from(text);
  if (payload.length > 125) throw new Error('the test codec only sends short frames');
  const head = Buffer.from([0x81, (mask ? 0x80 : 0) | payload.length]);
  if (!mask) return Buffer.concat([head, payload]);
  const key = randomBytes(4);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ key[i % 4]));
  return Buffer.concat([head, key, masked]);
}

export function readFrames(socket: Duplex, onText: (text: string) => void): void {
  let buffered = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 2) {
      const opcode = buffered[0] & 0x0f;
      const masked = (buffered[1] & 0x80) !== 0;
      const length = buffered[1] & 0x7f;
      const headLength = 2 + (masked ? 4 : 0);
      if (length > 125 || buffered.length < headLength + length) return;
      const key = masked ? buffered.subarray(2, 6) : undefined;
      const payload = buffered.subarray(headLength, headLength + length);
      const data = key ? Buffer.from(payload.map((byte, i) => byte ^ key[i % 4])) : payload;
      buffered = buffered.subarray(headLength + length);
      if (opcode === 0x8) {
        socket.end();
        return;
      }
      onText(data.toString('utf8'));
    }
  });
}

/** Opens a WebSocket through the router; resolves with the 101 head, or the refusal. */
export function openWebSocket(
  port: number,
  host: string,
  headers: Record<string, string>,
): Promise<{ status: number; head: string; socket: Socket; leftover: Buffer }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const key = randomBytes(16).toString('base64');
    const extra = Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    socket.write(
      `GET /ws HTTP/1.1\r\nhost: ${host}\r\nconnection: Upgrade\r\nupgrade: websocket\r\n` +
        `sec-websocket-version: 13\r\nsec-websocket-key: ${key}\r\n${extra}\r\n`,
    );
    let received = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      const head = received.subarray(0, end).toString('latin1');
      const status = Number(head.split(' ')[1]);
      resolve({ status, head, socket, leftover: received.subarray(end + 4) });
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

// --- Certificates made at test time: no private key is ever committed. ---

export interface TestCertificate {
  key: string;
  cert: string;
  /** As Node prints it: upper-case hex pairs separated by colons. */
  fingerprint256: string;
}

export function selfSignedCertificate(commonName: string): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'edge-cert-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-subj',
        `/CN=${commonName}`,
        '-days',
        '1',
      ],
      { stdio: 'ignore' },
    );
    const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
    return {
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
      cert,
      fingerprint256: new X509Certificate(cert).fingerprint256,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A TCP relay to Redis that a test can cut and restore, to play "Redis is down" without touching
 * the machine's shared Redis server.
 */
export interface RedisRelay {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startRedisRelay(): Promise<RedisRelay> {
  const target = new URL(testInfrastructure().redisUrl);
  const sockets = new Set<Socket>();
  let port = 0;
  const make = () =>
    createNetServer((client) => {
      const upstream = connect(Number(target.port || 6379), target.hostname);
      sockets.add(client).add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream).pipe(client);
    });
  let server = make();
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        port = (server.address() as AddressInfo).port;
        resolve();
      });
    });
  await listen();
  const stop = async () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    stop,
    async start() {
      server = make();
      await listen();
    },
    async close() {
      if (server.listening) await stop();
    },
  };
}

/** Reads `/metrics` through the router's own (bare) host. */
export async function scrape(port: number): Promise<string> {
  return (await get(port, `127.0.0.1:${port}`, '/metrics')).body;
}

/** Sends a hand-written request (headers a client library would rewrite) and reads to the end. */
export function rawHttp(port: number, requestText: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.on('error', reject);
    socket.write(requestText);
  });
}
