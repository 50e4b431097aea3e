import { describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { LaunchRequest } from '../compute-driver';
import { describeComputeDriverContract } from '../compute-driver.contract';
import { InMemoryComputeDriver } from './in-memory.driver';

describeComputeDriverContract('in-memory', async () => {
  const driver = new InMemoryComputeDriver();
  return {
    driver,
    cleanup: async () => undefined,
    reopen: async () => driver.reopen(),
    addForeignInstance: async () => driver.addForeignInstance(),
  };
});

describeComputeDriverContract('in-memory, hosts start pending', async () => {
  const driver = new InMemoryComputeDriver({ initialState: 'pending' });
  return { driver, cleanup: async () => undefined, reopen: async () => driver.reopen() };
});

function request(operationId = `op-${randomUUID()}`): LaunchRequest {
  return {
    operationId,
    tier: 'small',
    tags: {
      'molecule:managed': 'true',
      'molecule:org': 'org-1',
      'molecule:resource-type': 'org',
      'molecule:resource': 'org-1',
      'molecule:operation': operationId,
    },
    boot: {
      role: 'tenant',
      launchId: operationId,
      config: {},
      secrets: {},
      port: 8080,
      healthPath: '/health',
      image: 'registry.example.invalid/tenant:1',
    },
  };
}

describe('InMemoryComputeDriver', () => {
  it('counts real launches only', async () => {
    const driver = new InMemoryComputeDriver();
    const req = request();
    await driver.launch(req);
    await driver.launch(req);
    await driver.launch(request());

    expect(driver.launched).toBe(2);
    expect(driver.reopen().launched).toBe(2);
  });

  it('fails the next launches on demand and creates nothing for them', async () => {
    const driver = new InMemoryComputeDriver();
    driver.failNextLaunch(new Error('capacity'), 2);

    await expect(driver.launch(request())).rejects.toThrow('capacity');
    await expect(driver.launch(request())).rejects.toThrow('capacity');
    await expect(driver.launch(request())).resolves.toMatchObject({ state: 'running' });
    expect(driver.launched).toBe(1);
    expect(driver.all()).toHaveLength(1);
  });

  it('reports a crashed instance as stopped, still managed, until terminated', async () => {
    const driver = new InMemoryComputeDriver();
    const req = request();
    const launched = await driver.launch(req);

    driver.crash(launched.instanceId);

    expect((await driver.describe(launched.instanceId))?.state).toBe('stopped');
    expect((await driver.listManaged()).map((i) => i.state)).toEqual(['stopped']);
    // Like EC2, a launch of the same operation returns the existing (stopped) instance.
    expect((await driver.launch(req)).instanceId).toBe(launched.instanceId);
    await driver.terminate(launched.instanceId);
    expect(await driver.listManaged()).toEqual([]);
  });

  it('hands out copies, so a caller cannot change its state', async () => {
    const driver = new InMemoryComputeDriver();
    const launched = await driver.launch(request());
    launched.state = 'terminated';
    launched.tags['molecule:org'] = 'other';

    const described = await driver.describe(launched.instanceId);
    expect(described?.state).toBe('running');
    expect(described?.tags['molecule:org']).toBe('org-1');
  });

  it('refuses to force the state of an unknown instance', () => {
    expect(() => new InMemoryComputeDriver().setState('mem-nope', 'stopped')).toThrow(
      'Unknown instance',
    );
  });
});
