import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { describeRoutePublisherContract, exampleRouteEntry } from '../route-publisher.contract';
import { CloudflareApiDouble } from './cloudflare-api.double';
import {
  CloudflareKvError,
  CloudflareKvRoutePublisher,
  createCloudflareClient,
  routeKvKey,
} from './cloudflare-kv-route.publisher';

const apiToken = `cf-test-token-${randomBytes(16).toString('hex')}`;
const accountId = randomBytes(16).toString('hex');
const namespaceId = randomBytes(16).toString('hex');
let double: CloudflareApiDouble;

function publisherWith(
  options: { token?: string; account?: string; namespace?: string; baseUrl?: string } = {},
) {
  return new CloudflareKvRoutePublisher({
    client: createCloudflareClient({
      apiToken: options.token ?? apiToken,
      baseUrl: options.baseUrl ?? double.baseUrl,
      maxRetries: 0,
    }),
    accountId: options.account ?? accountId,
    namespaceId: options.namespace ?? namespaceId,
  });
}

beforeAll(async () => {
  double = await CloudflareApiDouble.start({ apiToken, accountId, namespaceId });
});

afterAll(async () => {
  await double.close();
});

describeRoutePublisherContract('cloudflare', () => publisherWith());

describe('CloudflareKvRoutePublisher', () => {
  const slug = () => `cf-${randomBytes(3).toString('hex')}`;

  beforeEach(() => {
    double.reset();
  });

  it('sends the bearer token to the account and namespace path, the key under route:', async () => {
    const s = slug();
    const entry = exampleRouteEntry(s, 2);
    await publisherWith().publish(entry);
    expect(double.requests.map((r) => r.method)).toEqual(['GET', 'PUT']);
    for (const request of double.requests) {
      expect(request.authorization).toBe(`Bearer ${apiToken}`);
      expect(request.accountId).toBe(accountId);
      expect(request.namespaceId).toBe(namespaceId);
      expect(request.key).toBe(routeKvKey(s));
      // The SDK leaves ':' unencoded in the path; the double decodes either form.
      expect(request.url).toBe(
        `/client/v4/accounts/${accountId}/storage/kv/namespaces/${namespaceId}/values/route:${s}`,
      );
    }
    const put = double.requests[1];
    expect(put.contentType).toMatch(/^multipart\/form-data; boundary=/);
    expect(JSON.parse(put.value ?? 'null')).toEqual(entry);
  });

  it('stores the credential ciphertext, and the API token nowhere', async () => {
    const s = slug();
    const entry = exampleRouteEntry(s, 1);
    const publisher = publisherWith();
    await publisher.publish(entry);
    await publisher.publish(exampleRouteEntry(s, 2, { credential: entry.credential }));
    const stored = double.value(routeKvKey(s));
    expect(JSON.parse(stored ?? 'null')).toMatchObject({ credential: entry.credential });
    for (const value of double.storedValues().values()) expect(value).not.toContain(apiToken);
    for (const request of double.requests) expect(request.url).not.toContain(apiToken);
  });

  it('does not write when KV holds a newer generation', async () => {
    const s = slug();
    const publisher = publisherWith();
    await publisher.publish(exampleRouteEntry(s, 5));
    double.requests.length = 0;
    await expect(publisher.publish(exampleRouteEntry(s, 4))).resolves.toBe(false);
    await expect(publisher.remove(s, 4)).resolves.toBe(false);
    expect(double.requests.map((r) => r.method)).toEqual(['GET', 'GET']);
  });

  it('gives a clear error for a wrong token, without echoing either token', async () => {
    const wrongToken = `wrong-${randomBytes(8).toString('hex')}`;
    const error = await publisherWith({ token: wrongToken })
      .publish(exampleRouteEntry(slug(), 1))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CloudflareKvError);
    expect(error).toMatchObject({ status: 401 });
    expect((error as Error).message).toMatch(/Cloudflare KV read of route:.* HTTP 401/);
    expect((error as Error).message).toMatch(/API token was refused/);
    expect((error as Error).message).not.toContain(wrongToken);
    expect((error as Error).message).not.toContain(apiToken);
    expect(double.requests[0]?.authorization).toBe(`Bearer ${wrongToken}`);
    expect(double.storedValues().size).toBe(0);
  });

  it('treats a wrong account or namespace as an error, not as a missing route', async () => {
    await expect(publisherWith({ account: 'f'.repeat(32) }).get(slug())).rejects.toMatchObject({
      name: 'CloudflareKvError',
      status: 403,
    });
    await expect(publisherWith({ namespace: 'e'.repeat(32) }).get(slug())).rejects.toMatchObject({
      name: 'CloudflareKvError',
      status: 404,
      message: expect.stringContaining('CLOUDFLARE_KV_NAMESPACE_ID'),
    });
  });

  it('reports a Cloudflare failure, and the retried write then succeeds', async () => {
    const s = slug();
    const publisher = publisherWith();
    double.failNext(500);
    await expect(publisher.publish(exampleRouteEntry(s, 1))).rejects.toMatchObject({
      status: 500,
    });
    await expect(publisher.publish(exampleRouteEntry(s, 1))).resolves.toBe(true);
    await expect(publisher.get(s)).resolves.toMatchObject({ generation: 1 });
  });

  it('says when Cloudflare cannot be reached', async () => {
    const gone = await CloudflareApiDouble.start({ apiToken, accountId, namespaceId });
    await gone.close();
    await expect(publisherWith({ baseUrl: gone.baseUrl }).get(slug())).rejects.toThrow(
      /could not reach the Cloudflare API/,
    );
  });

  it('accepts the token as a Secret-like value', async () => {
    const client = createCloudflareClient({
      apiToken: { reveal: () => apiToken },
      baseUrl: double.baseUrl,
      maxRetries: 0,
    });
    const publisher = new CloudflareKvRoutePublisher({ client, accountId, namespaceId });
    await expect(publisher.get(slug())).resolves.toBeUndefined();
    expect(double.requests[0]?.authorization).toBe(`Bearer ${apiToken}`);
  });
});
