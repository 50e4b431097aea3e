import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { QUEUE_NAMES } from '@molecule/jobs';
import {
  createOrg,
  createOrgKey,
  startTestService,
  TEST_ADMIN_TOKEN,
  type TestService,
} from '@molecule/testing';
import { apiService } from '../api.service-definition';

describe('queue dashboard (/admin/queues)', () => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService(apiService);
  });

  afterAll(async () => {
    await service.close();
  });

  const get = (url: string, token?: string) =>
    service.app.inject({
      method: 'GET',
      url,
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });

  it.each(['/admin/queues', '/admin/queues/api/queues', '/admin/queues/queue/provisioning'])(
    'refuses %s without credentials',
    async (url) => {
      const response = await get(url);
      expect(response.statusCode).toBe(401);
      expect(response.json()).toMatchObject({ error: { status: 401, code: 'unauthorized' } });
    },
  );

  it('refuses a wrong token', async () => {
    expect(
      (await get('/admin/queues', 'not-the-admin-token-but-long-enough-1234')).statusCode,
    ).toBe(401);
  });

  it('refuses a valid credential that is not the platform admin', async () => {
    const org = await createOrg(service.db.dataSource);
    const { token } = await createOrgKey(service.db.dataSource, org.id, 'owner');
    expect((await get('/admin/queues', token)).statusCode).toBe(403);
  });

  it('serves the dashboard to the platform admin', async () => {
    const page = await get('/admin/queues', TEST_ADMIN_TOKEN);
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
  });

  it('lets a browser sign in with the token as the Basic auth password', async () => {
    const challenge = await get('/admin/queues');
    expect(challenge.headers['www-authenticate']).toContain('Basic');
    const basic = Buffer.from(`ops:${TEST_ADMIN_TOKEN}`).toString('base64');
    const page = await service.app.inject({
      method: 'GET',
      url: '/admin/queues',
      headers: { authorization: `Basic ${basic}` },
    });
    expect(page.statusCode).toBe(200);
    const wrong = Buffer.from('ops:not-the-token-but-quite-long-enough-000').toString('base64');
    const refused = await service.app.inject({
      method: 'GET',
      url: '/admin/queues',
      headers: { authorization: `Basic ${wrong}` },
    });
    expect(refused.statusCode).toBe(401);
  });

  it('shows every queue', async () => {
    const response = await get('/admin/queues/api/queues', TEST_ADMIN_TOKEN);
    expect(response.statusCode).toBe(200);
    const names = response.json<{ queues: { name: string }[] }>().queues.map((q) => q.name);
    expect(names.sort()).toEqual([...QUEUE_NAMES].sort());
  });
});
