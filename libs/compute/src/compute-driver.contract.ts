import { randomUUID } from 'node:crypto';
import type { ComputeDriver, InstanceInfo, LaunchRequest } from './compute-driver';

/** What a contract run needs from one driver under test; the factory makes a fresh one per test. */
export interface ComputeDriverContractSubject {
  driver: ComputeDriver;
  /** Terminates whatever the test left behind and frees the backing store. */
  cleanup(): Promise<void>;
  /**
   * A NEW driver over the same backing store (same directory, same account), as a restarted
   * provisioner would build. When given, the suite checks it sees what the first one launched.
   */
  reopen?(): Promise<ComputeDriver>;
  /**
   * Adds an instance that does not carry `molecule:managed` (another tool's instance in the same
   * account or directory). When given, the suite checks `listManaged` leaves it out.
   */
  addForeignInstance?(): Promise<string>;
}

export interface ComputeDriverContractOptions {
  /** Per-test timeout; real processes need more than Jest's default 5 s. */
  timeoutMs?: number;
  /** How long an instance may stay `pending` before the suite fails. */
  readyTimeoutMs?: number;
  /** The tier every launch asks for; the driver must know it. */
  tier?: string;
  /** An id in the driver's format that was never launched. */
  unknownInstanceId?: string;
}

/**
 * The shared contract every compute driver passes (SPEC §2: "each driver passes one shared
 * contract test suite"). Call it from a driver's spec file.
 *
 * It uses Jest's globals rather than importing '@jest/globals' on purpose: this module is part
 * of the library's public entry, and importing '@jest/globals' outside a Jest run throws, which
 * would break every service that imports `@molecule/compute`.
 */
export function describeComputeDriverContract(
  name: string,
  factory: () => Promise<ComputeDriverContractSubject>,
  options: ComputeDriverContractOptions = {},
): void {
  const timeout = options.timeoutMs ?? 20_000;
  const readyTimeoutMs = options.readyTimeoutMs ?? 10_000;
  const tier = options.tier ?? 'small';

  describe(`ComputeDriver contract: ${name}`, () => {
    let subject: ComputeDriverContractSubject;
    let driver: ComputeDriver;

    beforeEach(async () => {
      subject = await factory();
      driver = subject.driver;
    }, timeout);

    afterEach(async () => {
      await subject.cleanup();
    }, timeout);

    const request = (operationId = `op-${randomUUID()}`): LaunchRequest => ({
      operationId,
      tier,
      tags: {
        'molecule:managed': 'true',
        'molecule:org': `org-${randomUUID()}`,
        'molecule:resource-type': 'workspace',
        'molecule:resource': `ws-${randomUUID()}`,
        'molecule:operation': operationId,
      },
      boot: {
        role: 'workspace',
        launchId: operationId,
        config: { WORKSPACE_ID: 'contract-workspace', REGISTRY_URL: 'http://127.0.0.1:9' },
        secrets: { MOLECULE_CONTRACT_SECRET: 'contract-not-a-real-secret' },
        port: 8080,
        healthPath: '/health',
        image: 'registry.example.invalid/molecule/agent:contract',
      },
    });

    const waitUntilRunning = async (
      on: ComputeDriver,
      instanceId: string,
    ): Promise<InstanceInfo> => {
      const deadline = Date.now() + readyTimeoutMs;
      for (;;) {
        const info = await on.describe(instanceId);
        if (info?.state === 'running') return info;
        if (!info || info.state !== 'pending' || Date.now() > deadline) {
          throw new Error(`Instance ${instanceId} did not reach running (${info?.state})`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };

    /**
     * Termination may take a moment to show: EC2 reports `shutting-down` (`stopping`) first.
     * Waits until the instance reads `terminated` or is unknown, then returns what it read.
     */
    const waitUntilTerminated = async (
      on: ComputeDriver,
      instanceId: string,
    ): Promise<InstanceInfo | undefined> => {
      const deadline = Date.now() + readyTimeoutMs;
      for (;;) {
        const info = await on.describe(instanceId);
        if (!info || info.state === 'terminated') return info;
        if (info.state !== 'stopping' || Date.now() > deadline) {
          throw new Error(`Instance ${instanceId} did not terminate (${info.state})`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };

    const ownInstances = async (on: ComputeDriver, operationId: string) =>
      (await on.listManaged()).filter((i) => i.tags['molecule:operation'] === operationId);

    const unknownId = () =>
      options.unknownInstanceId ??
      (driver.provider === 'ec2' ? 'i-0000000000000000f' : 'local-000000000000');

    it(
      'launches an instance that runs and carries the tags',
      async () => {
        const req = request();
        const launched = await driver.launch(req);

        expect(launched.instanceId).toEqual(expect.any(String));
        expect(['pending', 'running']).toContain(launched.state);
        expect(launched.tags).toEqual(req.tags);
        expect(launched.port).toBeGreaterThan(0);
        expect(launched.launchedAt).toBeInstanceOf(Date);

        const running = await waitUntilRunning(driver, launched.instanceId);
        expect(running.tags).toEqual(req.tags);
        expect(running.port).toBe(launched.port);
        expect(running.address).toEqual(expect.any(String));
      },
      timeout,
    );

    it(
      'returns the same instance when one operation is launched twice',
      async () => {
        const req = request();
        const first = await driver.launch(req);
        const second = await driver.launch(req);

        expect(second.instanceId).toBe(first.instanceId);
        expect((await ownInstances(driver, req.operationId)).map((i) => i.instanceId)).toEqual([
          first.instanceId,
        ]);
      },
      timeout,
    );

    it(
      'returns one instance when one operation is launched twice at the same time',
      async () => {
        const req = request();
        const [a, b] = await Promise.all([driver.launch(req), driver.launch(req)]);

        expect(b.instanceId).toBe(a.instanceId);
        expect(await ownInstances(driver, req.operationId)).toHaveLength(1);
      },
      timeout,
    );

    it(
      'describes and finds an instance by its operation',
      async () => {
        const req = request();
        const launched = await driver.launch(req);

        const described = await driver.describe(launched.instanceId);
        expect(described?.instanceId).toBe(launched.instanceId);
        expect(described?.tags).toEqual(req.tags);

        const found = await driver.findByOperation(req.operationId);
        expect(found?.instanceId).toBe(launched.instanceId);

        expect(await driver.findByOperation(`op-${randomUUID()}`)).toBeUndefined();
        expect(await driver.describe(unknownId())).toBeUndefined();
      },
      timeout,
    );

    it(
      'lists managed instances, leaving out terminated and foreign ones',
      async () => {
        const kept = await driver.launch(request());
        const gone = await driver.launch(request());
        await driver.terminate(gone.instanceId);
        await waitUntilTerminated(driver, gone.instanceId);
        const foreignId = await subject.addForeignInstance?.();

        const ids = (await driver.listManaged()).map((i) => i.instanceId);
        expect(ids).toContain(kept.instanceId);
        expect(ids).not.toContain(gone.instanceId);
        if (foreignId !== undefined) expect(ids).not.toContain(foreignId);
        for (const info of await driver.listManaged()) {
          expect(info.tags['molecule:managed']).toBe('true');
          expect(info.state).not.toBe('terminated');
        }
      },
      timeout,
    );

    it(
      'terminates an instance',
      async () => {
        const req = request();
        const launched = await driver.launch(req);
        await waitUntilRunning(driver, launched.instanceId);

        await driver.terminate(launched.instanceId);

        const after = await waitUntilTerminated(driver, launched.instanceId);
        if (after) expect(after.state).toBe('terminated');
        expect((await driver.listManaged()).map((i) => i.instanceId)).not.toContain(
          launched.instanceId,
        );
        expect(await driver.findByOperation(req.operationId)).toBeUndefined();
      },
      timeout,
    );

    it(
      'accepts terminating twice and terminating an unknown instance',
      async () => {
        const launched = await driver.launch(request());

        await driver.terminate(launched.instanceId);
        await expect(driver.terminate(launched.instanceId)).resolves.toBeUndefined();
        await waitUntilTerminated(driver, launched.instanceId);
        await expect(driver.terminate(launched.instanceId)).resolves.toBeUndefined();
        await expect(driver.terminate(unknownId())).resolves.toBeUndefined();
      },
      timeout,
    );

    it(
      'refuses to terminate an instance it does not manage',
      async () => {
        if (!subject.addForeignInstance) return;
        const foreignId = await subject.addForeignInstance();

        await expect(driver.terminate(foreignId)).rejects.toThrow(/not managed/);
        const after = await driver.describe(foreignId);
        expect(after?.state).not.toBe('terminated');
      },
      timeout,
    );

    it(
      'lets a new driver over the same store see and terminate what an old one launched',
      async () => {
        if (!subject.reopen) return;
        const req = request();
        const launched = await driver.launch(req);
        await waitUntilRunning(driver, launched.instanceId);

        const reopened = await subject.reopen();

        expect((await reopened.describe(launched.instanceId))?.state).toBe('running');
        expect((await reopened.findByOperation(req.operationId))?.instanceId).toBe(
          launched.instanceId,
        );
        expect((await reopened.listManaged()).map((i) => i.instanceId)).toContain(
          launched.instanceId,
        );
        expect((await reopened.launch(req)).instanceId).toBe(launched.instanceId);

        await reopened.terminate(launched.instanceId);

        const seenByOld = await waitUntilTerminated(driver, launched.instanceId);
        if (seenByOld) expect(seenByOld.state).toBe('terminated');
        expect((await driver.listManaged()).map((i) => i.instanceId)).not.toContain(
          launched.instanceId,
        );
      },
      timeout,
    );
  });
}
