import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Body, ConflictException, Controller, Get, Module, Post } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Public } from '@molecule/auth';
import {
  createTestDatabase,
  createTestRedisPrefix,
  LogCapture,
  testConfig,
  type TestDatabase,
} from '@molecule/testing';
import { IsInt, IsString, Length, Min } from 'class-validator';
import { createServiceApp, type ServiceDefinition } from './bootstrap';
import { CoreModule } from './core.module';
import type { ErrorEnvelope } from './error-envelope';

class CreateThingDto {
  @IsString()
  @Length(1, 50)
  name: string;

  @IsInt()
  @Min(0)
  count: number;
}

@Controller()
@Public()
class ErrorProbeController {
  @Post('things')
  create(@Body() body: CreateThingDto) {
    return { name: body.name, count: body.count, isDto: body instanceof CreateThingDto };
  }

  @Get('boom')
  boom(): never {
    throw new Error('database password is hunter2');
  }

  @Get('conflict')
  conflict(): never {
    throw new ConflictException('already exists');
  }
}

@Module({})
class ErrorProbeModule {}

const errorProbeService: ServiceDefinition = {
  name: 'api',
  module: (config, logDestination) => ({
    module: ErrorProbeModule,
    imports: [CoreModule.forRoot({ config, queues: false, logDestination })],
    controllers: [ErrorProbeController],
  }),
  port: (config) => config.ports.api,
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('error handling (integration)', () => {
  let db: TestDatabase;
  let redis: ReturnType<typeof createTestRedisPrefix>;
  let app: NestFastifyApplication;
  const logs = new LogCapture();

  async function postThings(payload: unknown, headers: Record<string, string> = {}) {
    return app.inject({
      method: 'POST',
      url: '/things',
      headers: { 'content-type': 'application/json', ...headers },
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    });
  }

  /** Asserts the response is an error envelope with this status and returns its `error`. */
  function envelope(
    response: { statusCode: number; headers: Record<string, unknown>; json(): unknown },
    status: number,
  ): ErrorEnvelope['error'] {
    expect(response.statusCode).toBe(status);
    expect(String(response.headers['content-type'])).toMatch(/^application\/json/);
    const body = response.json() as ErrorEnvelope;
    expect(Object.keys(body)).toEqual(['error']);
    expect(body.error).toMatchObject({
      status,
      code: expect.any(String),
      message: expect.any(String),
      requestId: expect.any(String),
    });
    return body.error;
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    redis = createTestRedisPrefix();
    const config = testConfig('api', db.url, redis.prefix, { LOG_LEVEL: 'info' });
    app = await createServiceApp(errorProbeService, config, { logDestination: logs });
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
    await redis?.clear();
  });

  describe('request bodies', () => {
    it('accepts a valid body with 201 and hands the route a transformed DTO', async () => {
      const response = await postThings({ name: 'widget', count: 3 });
      expect(response.statusCode).toBe(201);
      expect(response.json()).toEqual({ name: 'widget', count: 3, isDto: true });
    });

    it('answers malformed JSON with a 400 envelope', async () => {
      const response = await postThings('{bad');
      const error = envelope(response, 400);
      expect(error.code).toBe('bad_request');
      expect(error.message.length).toBeGreaterThan(0);
      expect(error.errorId).toBeUndefined();
      expect(response.body).not.toContain('{bad');
    });

    it('refuses an unknown field with validation_failed naming it, without echoing its value', async () => {
      const response = await postThings({
        name: 'widget',
        count: 1,
        sneaky: 'smuggled-value-4242',
      });
      const error = envelope(response, 400);
      expect(error.code).toBe('validation_failed');
      expect(error.details).toEqual([
        { field: 'sneaky', problems: [expect.stringContaining('sneaky')] },
      ]);
      expect(response.body).not.toContain('smuggled-value-4242');
    });

    it('refuses a wrong type naming the field, without echoing the value', async () => {
      const response = await postThings({ name: 'widget', count: 'seventeen-and-a-bit' });
      const error = envelope(response, 400);
      expect(error.code).toBe('validation_failed');
      const details = error.details as { field: string; problems: string[] }[];
      expect(details.map((d) => d.field)).toEqual(['count']);
      expect(details[0].problems.length).toBeGreaterThan(0);
      expect(response.body).not.toContain('seventeen-and-a-bit');
    });

    it('names every invalid and missing field', async () => {
      const response = await postThings({ name: '', count: -1 });
      const error = envelope(response, 400);
      const fields = (error.details as { field: string }[]).map((d) => d.field).sort();
      expect(fields).toEqual(['count', 'name']);
      expect((envelope(await postThings({}), 400).details as { field: string }[]).length).toBe(2);
    });

    it('answers a body over 1 MiB with a 413 envelope', async () => {
      const response = await postThings({ name: 'x', count: 1, pad: 'a'.repeat(1024 * 1024) });
      const error = envelope(response, 413);
      expect(error.code).toBe('payload_too_large');
    });
  });

  describe('unexpected errors', () => {
    it('answers 500 with an error id and nothing of the error itself', async () => {
      const response = await app.inject({ method: 'GET', url: '/boom' });
      const error = envelope(response, 500);
      expect(error).toEqual({
        status: 500,
        code: 'internal_error',
        message: 'Internal server error',
        requestId: expect.any(String),
        errorId: expect.stringMatching(UUID),
      });
      expect(response.body).not.toContain('hunter2');
      expect(response.body).not.toContain('password');
      expect(response.body).not.toMatch(/stack|\.ts:\d+|at [A-Za-z]/);
    });

    it('logs the stack under the same error id', async () => {
      const response = await app.inject({ method: 'GET', url: '/boom' });
      const { errorId } = envelope(response, 500);
      const lines = logs.entries().filter((entry) => entry.errorId === errorId);
      expect(lines).toHaveLength(1);
      const err = lines[0].err as { message?: string; stack?: string };
      expect(err.message).toBe('database password is hunter2');
      expect(err.stack).toContain('ErrorProbeController.boom');
      expect(lines[0].level).toBe(50);
    });

    it('gives each failure its own error id', async () => {
      const first = envelope(await app.inject({ method: 'GET', url: '/boom' }), 500);
      const second = envelope(await app.inject({ method: 'GET', url: '/boom' }), 500);
      expect(first.errorId).not.toBe(second.errorId);
    });
  });

  describe('HTTP exceptions and the framework', () => {
    it('answers a ConflictException with a 409 envelope', async () => {
      const response = await app.inject({ method: 'GET', url: '/conflict' });
      const error = envelope(response, 409);
      expect(error).toEqual({
        status: 409,
        code: 'conflict',
        message: 'already exists',
        requestId: expect.any(String),
      });
    });

    it('answers an unknown route with a 404 envelope', async () => {
      const response = await app.inject({ method: 'GET', url: '/no/such/route' });
      expect(envelope(response, 404).code).toBe('not_found');
    });
  });

  describe('request ids', () => {
    it("echoes a well-formed X-Request-ID as the envelope's requestId", async () => {
      const requestId = 'client-req_42.abc';
      const conflict = await app.inject({
        method: 'GET',
        url: '/conflict',
        headers: { 'x-request-id': requestId },
      });
      expect(envelope(conflict, 409).requestId).toBe(requestId);
      const invalid = await postThings({ name: 1 }, { 'x-request-id': requestId });
      expect(envelope(invalid, 400).requestId).toBe(requestId);
      const boom = await app.inject({
        method: 'GET',
        url: '/boom',
        headers: { 'x-request-id': requestId },
      });
      expect(envelope(boom, 500).requestId).toBe(requestId);
    });

    it('replaces a malformed X-Request-ID with a fresh uuid', async () => {
      const sent = 'evil id with spaces';
      const response = await app.inject({
        method: 'GET',
        url: '/conflict',
        headers: { 'x-request-id': sent },
      });
      const error = envelope(response, 409);
      expect(error.requestId).toMatch(UUID);
      expect(response.body).not.toContain(sent);
      const tooLong = await app.inject({
        method: 'GET',
        url: '/conflict',
        headers: { 'x-request-id': 'a'.repeat(129) },
      });
      expect(envelope(tooLong, 409).requestId).toMatch(UUID);
    });

    it('gives a fresh uuid when the caller sends none', async () => {
      const response = await app.inject({ method: 'GET', url: '/conflict' });
      expect(envelope(response, 409).requestId).toMatch(UUID);
    });
  });
});
