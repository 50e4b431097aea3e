import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { CloudflareApiDouble } from './cloudflare-api.double';

const apiToken = 'double-test-token';
const accountId = 'acc0123456789';
const namespaceId = 'ns0123456789';

describe('CloudflareApiDouble', () => {
  let double: CloudflareApiDouble;
  let valuesUrl: string;
  const auth = { authorization: `Bearer ${apiToken}` };

  beforeAll(async () => {
    double = await CloudflareApiDouble.start({ apiToken, accountId, namespaceId });
    valuesUrl = `${double.baseUrl}/accounts/${accountId}/storage/kv/namespaces/${namespaceId}/values`;
  });

  afterAll(async () => {
    await double.close();
  });

  beforeEach(() => {
    double.reset();
  });

  it('listens on 127.0.0.1 only', () => {
    expect(new URL(double.baseUrl).hostname).toBe('127.0.0.1');
    expect(double.baseUrl).toMatch(/\/client\/v4$/);
  });

  it('stores a multipart value part and a raw body, and returns the raw value', async () => {
    const form = new FormData();
    form.append('value', 'from a form');
    form.append('metadata', JSON.stringify({ a: 1 }));
    const put = await fetch(`${valuesUrl}/a%3Ab`, { method: 'PUT', headers: auth, body: form });
    expect(put.status).toBe(200);
    await expect(put.json()).resolves.toEqual({
      success: true,
      errors: [],
      messages: [],
      result: {},
    });
    // The key was percent-encoded here; the SDK sends ':' as is. Both name the same key.
    expect(double.value('a:b')).toBe('from a form');

    await fetch(`${valuesUrl}/raw`, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/octet-stream' },
      body: 'raw bytes',
    });
    const get = await fetch(`${valuesUrl}/raw`, { headers: auth });
    expect(get.status).toBe(200);
    await expect(get.text()).resolves.toBe('raw bytes');
  });

  it("answers a missing key with Cloudflare's 404 envelope, and deletes idempotently", async () => {
    const missing = await fetch(`${valuesUrl}/nope`, { headers: auth });
    expect(missing.status).toBe(404);
    await expect(missing.json()).resolves.toEqual({
      success: false,
      errors: [{ code: 10009, message: 'get: key not found' }],
      messages: [],
      result: null,
    });
    const del = await fetch(`${valuesUrl}/nope`, { method: 'DELETE', headers: auth });
    expect(del.status).toBe(200);
  });

  it('refuses a missing or wrong token with a 401 envelope', async () => {
    const attempts: Record<string, string>[] = [{}, { authorization: 'Bearer wrong' }];
    for (const headers of attempts) {
      const response = await fetch(`${valuesUrl}/k`, { headers });
      expect(response.status).toBe(401);
      await expect(response.json()).resolves.toMatchObject({
        success: false,
        errors: [{ code: 10000, message: 'Authentication error' }],
      });
    }
  });

  it('refuses other accounts, namespaces and paths, and records every request', async () => {
    const other = (account: string, namespace: string) =>
      `${double.baseUrl}/accounts/${account}/storage/kv/namespaces/${namespace}/values/k`;
    expect((await fetch(other('elsewhere', namespaceId), { headers: auth })).status).toBe(403);
    expect((await fetch(other(accountId, 'elsewhere'), { headers: auth })).status).toBe(404);
    expect((await fetch(`${double.baseUrl}/zones`, { headers: auth })).status).toBe(404);
    expect(double.requests.map((r) => r.status)).toEqual([403, 404, 404]);
  });

  it('fails injected requests without storing anything', async () => {
    double.failNext(503);
    const put = await fetch(`${valuesUrl}/k`, { method: 'PUT', headers: auth, body: 'v' });
    expect(put.status).toBe(503);
    expect(double.value('k')).toBeUndefined();
  });
});
