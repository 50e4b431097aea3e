import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loggerOptions, PinoLogger } from '@molecule/logging';
import { LogCapture, startTestService, testConfig, type TestService } from '@molecule/testing';
import { pino, type LoggerOptions } from 'pino';
import { apiService } from '../../apps/api/src/api.service-definition';

const SECRETS = {
  authorization: 'secret-value-123',
  cookie: 'cookie-secret-456',
  apiKey: 'key-secret-789',
};

const SECRET_HEADERS = {
  authorization: `Bearer ${SECRETS.authorization}`,
  cookie: `session=${SECRETS.cookie}`,
  'x-api-key': SECRETS.apiKey,
};

interface RequestLine {
  service?: string;
  version?: string;
  req?: { url?: string; headers?: Record<string, unknown> };
  res?: { statusCode?: number };
}

describe('log redaction (api service)', () => {
  let service: TestService;

  function requestLines(url: string): RequestLine[] {
    return (service.logs.entries() as RequestLine[]).filter((entry) => entry.req?.url === url);
  }

  beforeAll(async () => {
    service = await startTestService(apiService);
  });

  afterAll(async () => {
    await service?.close();
  });

  it.each([
    ['an unknown route', '/v1/does-not-exist', 404],
    ['the gated queue dashboard', '/admin/queues', 401],
  ])('logs a request to %s with its credentials redacted', async (_name, url, status) => {
    const response = await service.app.inject({ method: 'GET', url, headers: SECRET_HEADERS });
    expect(response.statusCode).toBe(status);

    const lines = requestLines(url);
    expect(lines).toHaveLength(1);
    const [line] = lines;
    expect(line.res?.statusCode).toBe(status);
    expect(line.req?.headers).toMatchObject({
      authorization: '[redacted]',
      cookie: '[redacted]',
      'x-api-key': '[redacted]',
    });
    expect(line.service).toBe('api');
    expect(line.version).toBe(service.config.version);

    for (const secret of Object.values(SECRETS)) {
      expect(service.logs.text).not.toContain(secret);
      expect(response.body).not.toContain(secret);
    }
  });

  it('tags every log line with the service and its version', () => {
    const entries = service.logs.entries();
    expect(entries.length).toBeGreaterThan(0);
    expect(service.config.version).toMatch(/^\d+\.\d+\.\d+/);
    for (const entry of entries) {
      expect(entry).toMatchObject({ service: 'api', version: service.config.version });
    }
  });

  it('does not log probe requests', async () => {
    for (const url of ['/healthz', '/metrics']) {
      const response = await service.app.inject({ method: 'GET', url, headers: SECRET_HEADERS });
      expect(response.statusCode).toBe(200);
      expect(requestLines(url)).toEqual([]);
    }
    expect(service.logs.text).not.toContain(SECRETS.authorization);
  });

  it("redacts secret-named fields logged through the app's PinoLogger", async () => {
    const logger = await service.app.resolve(PinoLogger);
    logger.info(
      {
        token: 'top-level-token-1',
        data: { token: 'nested-token-2', password: 'nested-password-3', secret: 'nested-secret-4' },
        outer: { inner: { apiKey: 'deep-api-key-5' } },
        marker: 'app-logger-redaction',
      },
      'redaction probe',
    );
    const line = service.logs.entries().find((entry) => entry.marker === 'app-logger-redaction');
    expect(line).toMatchObject({
      service: 'api',
      token: '[redacted]',
      data: { token: '[redacted]', password: '[redacted]', secret: '[redacted]' },
      outer: { inner: { apiKey: '[redacted]' } },
    });
    for (const value of [
      'top-level-token-1',
      'nested-token-2',
      'nested-password-3',
      'deep-api-key-5',
    ]) {
      expect(service.logs.text).not.toContain(value);
    }
  });
});

describe('logger options', () => {
  const capture = new LogCapture();
  const config = testConfig('api', 'postgres://unused@127.0.0.1:5432/unused', 'unused', {
    LOG_LEVEL: 'info',
  });
  const options = loggerOptions(config, capture).pinoHttp as LoggerOptions;
  const logger = pino(
    { level: options.level, base: options.base, redact: options.redact },
    capture,
  );

  function logged(fields: Record<string, unknown>): Record<string, unknown> {
    const before = capture.lines.length;
    logger.info(fields, 'probe');
    expect(capture.lines).toHaveLength(before + 1);
    return JSON.parse(capture.lines[before]) as Record<string, unknown>;
  }

  it('redacts nested secret fields', () => {
    const line = logged({ data: { token: 'x-token', password: 'y-password', secret: 'z-secret' } });
    expect(line.data).toEqual({
      token: '[redacted]',
      password: '[redacted]',
      secret: '[redacted]',
    });
    expect(capture.text).not.toMatch(/x-token|y-password|z-secret/);
  });

  it('redacts secret fields at the top level and two levels down, and leaves others alone', () => {
    const line = logged({
      masterKey: 'mk-1',
      a: { b: { sessionToken: 'st-2', name: 'kept' } },
      adminToken: 'at-3',
      count: 7,
    });
    expect(line).toMatchObject({
      masterKey: '[redacted]',
      a: { b: { sessionToken: '[redacted]', name: 'kept' } },
      adminToken: '[redacted]',
      count: 7,
      service: 'api',
      version: config.version,
    });
  });

  it('redacts credential headers of a serialised request and response', () => {
    const line = logged({
      req: {
        url: '/x',
        headers: {
          authorization: 'Bearer h-1',
          cookie: 'c=h-2',
          'x-api-key': 'h-3',
          'x-molecule-tenant-token': 'h-4',
          accept: 'application/json',
        },
      },
      res: { headers: { 'set-cookie': 'sid=h-5' } },
    });
    expect(line).toMatchObject({
      req: {
        headers: {
          authorization: '[redacted]',
          cookie: '[redacted]',
          'x-api-key': '[redacted]',
          'x-molecule-tenant-token': '[redacted]',
          accept: 'application/json',
        },
      },
      res: { headers: { 'set-cookie': '[redacted]' } },
    });
    expect(capture.text).not.toMatch(/h-[1-5]/);
  });
});
