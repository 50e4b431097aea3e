import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * TEST DOUBLE, not for production use. A local stand-in for the few Cloudflare API endpoints the
 * route publisher calls (Workers KV value PUT, GET and DELETE), so tests run the real `cloudflare`
 * SDK without an account or network access. It listens on 127.0.0.1 only, on a random port.
 * It lives in src (not beside the tests) so other libraries' and apps' tests can reuse it.
 */

export interface CloudflareApiDoubleOptions {
  /** The only bearer token accepted. */
  apiToken: string;
  accountId: string;
  namespaceId: string;
}

/** One request as the double saw it, for assertions. */
export interface RecordedCloudflareRequest {
  method: string;
  /** The raw request path and query, as sent (keys stay percent-encoded here). */
  url: string;
  accountId?: string;
  namespaceId?: string;
  /** The decoded KV key. */
  key?: string;
  authorization?: string;
  contentType?: string;
  /** For a PUT: the stored value (the multipart `value` part, or the raw body). */
  value?: string;
  /** The status the double answered with. */
  status: number;
}

interface CloudflareErrorItem {
  code: number;
  message: string;
}

const VALUES_PATH =
  /^\/client\/v4\/accounts\/([^/]+)\/storage\/kv\/namespaces\/([^/]+)\/values\/([^/]+)$/;

// Cloudflare's codes: 10000 authentication error, 10009 key not found (code and message as the
// real API sends them, which the publisher relies on), 10013 namespace not found, 7003 no route
// for the URL. The other messages are close to, not exactly, Cloudflare's wording.
const KEY_NOT_FOUND: CloudflareErrorItem = { code: 10009, message: 'get: key not found' };

export class CloudflareApiDouble {
  /** Every request received, oldest first. */
  readonly requests: RecordedCloudflareRequest[] = [];
  private readonly values = new Map<string, Buffer>();
  private readonly failures: number[] = [];

  private constructor(
    private readonly server: Server,
    private readonly options: CloudflareApiDoubleOptions,
    /** The SDK's `baseURL` for this double, ending in `/client/v4`. */
    readonly baseUrl: string,
  ) {}

  static async start(options: CloudflareApiDoubleOptions): Promise<CloudflareApiDouble> {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const double = new CloudflareApiDouble(server, options, `http://127.0.0.1:${port}/client/v4`);
    // Attached before anyone can know the port, so no request is missed.
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      void double.handle(request, response);
    });
    return double;
  }

  /** The value stored under `key`, as text. */
  value(key: string): string | undefined {
    return this.values.get(key)?.toString('utf8');
  }

  /** Every stored key and value, as text. */
  storedValues(): Map<string, string> {
    return new Map([...this.values].map(([key, value]) => [key, value.toString('utf8')]));
  }

  /** Answers the next `count` requests with `status` and an error envelope, storing nothing. */
  failNext(status: number, count = 1): void {
    for (let i = 0; i < count; i += 1) this.failures.push(status);
  }

  /** Forgets stored values, recorded requests and pending failures. */
  reset(): void {
    this.values.clear();
    this.requests.length = 0;
    this.failures.length = 0;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve, reject) =>
      this.server.close((error) => (error ? reject(error) : resolve())),
    );
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const record: RecordedCloudflareRequest = {
      method: request.method ?? '',
      url: request.url ?? '',
      authorization: request.headers.authorization,
      contentType: request.headers['content-type'],
      status: 0,
    };
    this.requests.push(record);
    const reply = (status: number, body: unknown, contentType = 'application/json') => {
      record.status = status;
      const payload = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
      response.writeHead(status, { 'content-type': contentType, 'content-length': payload.length });
      response.end(payload);
    };
    const fail = (status: number, ...errors: CloudflareErrorItem[]) =>
      reply(status, { success: false, errors, messages: [], result: null });

    try {
      const body = await readBody(request);
      const failure = this.failures.shift();
      if (failure !== undefined) {
        return fail(failure, { code: 10001, message: `injected failure (${failure})` });
      }
      if (request.headers.authorization !== `Bearer ${this.options.apiToken}`) {
        return fail(401, { code: 10000, message: 'Authentication error' });
      }
      const match = VALUES_PATH.exec(new URL(record.url, 'http://127.0.0.1').pathname);
      if (!match) {
        return fail(404, { code: 7003, message: 'Could not route to the requested URL' });
      }
      const [, accountId, namespaceId, encodedKey] = match as unknown as [
        string,
        string,
        string,
        string,
      ];
      record.accountId = decodeURIComponent(accountId);
      record.namespaceId = decodeURIComponent(namespaceId);
      const key = decodeURIComponent(encodedKey);
      record.key = key;
      if (record.accountId !== this.options.accountId) {
        // What Cloudflare answers for an account the token cannot reach.
        return fail(403, { code: 10000, message: 'Authentication error' });
      }
      if (record.namespaceId !== this.options.namespaceId) {
        return fail(404, { code: 10013, message: 'namespace not found' });
      }

      switch (record.method) {
        case 'GET': {
          const value = this.values.get(key);
          if (value === undefined) return fail(404, KEY_NOT_FOUND);
          return reply(200, value, 'application/octet-stream');
        }
        case 'PUT': {
          const value = await valueOf(body, record.contentType);
          if (value === undefined) {
            return fail(400, { code: 10004, message: 'put: missing value part' });
          }
          this.values.set(key, value);
          record.value = value.toString('utf8');
          return reply(200, { success: true, errors: [], messages: [], result: {} });
        }
        case 'DELETE':
          // Deleting a missing key succeeds on Cloudflare too.
          this.values.delete(key);
          return reply(200, { success: true, errors: [], messages: [], result: {} });
        default:
          return fail(405, { code: 10000, message: `method ${record.method} not allowed` });
      }
    } catch (error) {
      // Only reached for a malformed request (bad percent-encoding, broken multipart body).
      return fail(400, { code: 10001, message: `bad request: ${(error as Error).message}` });
    }
  }
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * The value of a KV write: the `value` part of a multipart/form-data body (what the SDK sends),
 * parsed by the platform's spec-compliant form-data parser, or else the raw body (what
 * `application/octet-stream` writes send).
 */
async function valueOf(body: Buffer, contentType: string | undefined): Promise<Buffer | undefined> {
  if (!contentType?.toLowerCase().startsWith('multipart/form-data')) return body;
  const form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
  const part = form.get('value');
  if (part === null) return undefined;
  return typeof part === 'string'
    ? Buffer.from(part, 'utf8')
    : Buffer.from(await part.arrayBuffer());
}
