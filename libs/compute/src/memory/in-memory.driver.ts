import type {
  ComputeDriver,
  InstanceInfo,
  InstanceState,
  InstanceTags,
  LaunchRequest,
} from '../compute-driver';
import { assertLaunchRequest } from '../launch-request';

export interface InMemoryComputeDriverOptions {
  /** The address every instance reports; defaults to 127.0.0.1, like the local driver. */
  address?: string;
  /**
   * The state a new instance starts in. A `pending` instance still reads `pending` once, then
   * `running`, the way a real host comes up a moment after launch.
   */
  initialState?: 'pending' | 'running';
}

interface Stored {
  info: InstanceInfo;
  /** Reads left before a `pending` instance reports `running`. */
  pendingReads: number;
}

/** What plays the cloud account: shared by a driver and the drivers `reopen()` makes. */
interface Backend {
  instances: Map<string, Stored>;
  launchFailures: Error[];
  launched: number;
  nextId: number;
  nextPort: number;
}

/**
 * A faithful fake of the compute port for other modules' unit tests: idempotent by operation
 * (also under concurrent launches), terminated instances stay describable, every read returns a
 * copy so a caller cannot change the fake's state by accident, and failures can be injected.
 * It passes the shared contract suite.
 */
export class InMemoryComputeDriver implements ComputeDriver {
  readonly provider = 'local' as const;

  private readonly backend: Backend;

  /** `backend` is for `reopen()` only; callers pass options alone. */
  constructor(
    private readonly options: InMemoryComputeDriverOptions = {},
    backend?: Backend,
  ) {
    this.backend = backend ?? {
      instances: new Map(),
      launchFailures: [],
      launched: 0,
      nextId: 1,
      nextPort: 41_000,
    };
  }

  /** How many instances were actually created (idempotent repeats do not count). */
  get launched(): number {
    return this.backend.launched;
  }

  /** A new driver over the same instances, as a restarted provisioner would see them. */
  reopen(): InMemoryComputeDriver {
    return new InMemoryComputeDriver(this.options, this.backend);
  }

  /** Makes the next `times` launches reject with `error` (nothing is created for them). */
  failNextLaunch(error: Error = new Error('Injected launch failure'), times = 1): void {
    for (let i = 0; i < times; i += 1) this.backend.launchFailures.push(error);
  }

  /** Simulates a host that died on its own: it reports `stopped` until terminated. */
  crash(instanceId: string): void {
    this.setState(instanceId, 'stopped');
  }

  /** Forces an instance into any state, for tests of reconcilers and health checks. */
  setState(instanceId: string, state: InstanceState): void {
    const stored = this.backend.instances.get(instanceId);
    if (!stored) throw new Error(`Unknown instance ${instanceId}`);
    stored.info.state = state;
    stored.pendingReads = 0;
  }

  /**
   * Adds a running instance this control plane did not launch (no `molecule:managed` tag), the
   * way another tool's instance shows up in the same account.
   */
  addForeignInstance(): string {
    const info = this.create(
      { 'molecule:org': 'foreign' } as unknown as InstanceTags,
      'running',
      this.allocatePort(),
    );
    return info.instanceId;
  }

  /** Every instance ever created, terminated and foreign ones included (copies). */
  all(): InstanceInfo[] {
    return [...this.backend.instances.keys()]
      .map((id) => this.read(id))
      .filter((info): info is InstanceInfo => info !== undefined);
  }

  async launch(request: LaunchRequest): Promise<InstanceInfo> {
    assertLaunchRequest(request);
    // Checked and created without an await in between, so concurrent launches of one operation
    // cannot both create an instance (the real drivers guarantee the same).
    const existing = this.findSync(request.operationId);
    if (existing) return existing;

    const failure = this.backend.launchFailures.shift();
    if (failure) throw failure;

    const port = request.boot.port > 0 ? request.boot.port : this.allocatePort();
    const info = this.create({ ...request.tags }, this.options.initialState ?? 'running', port);
    this.backend.launched += 1;
    return copy(info);
  }

  async describe(instanceId: string): Promise<InstanceInfo | undefined> {
    return this.read(instanceId);
  }

  async findByOperation(operationId: string): Promise<InstanceInfo | undefined> {
    return this.findSync(operationId);
  }

  async listManaged(): Promise<InstanceInfo[]> {
    return this.all().filter(
      (info) => info.tags['molecule:managed'] === 'true' && info.state !== 'terminated',
    );
  }

  async terminate(instanceId: string): Promise<void> {
    const stored = this.backend.instances.get(instanceId);
    if (!stored || stored.info.state === 'terminated') return;
    // Like the real drivers: a wrong id must never end another tool's instance.
    if (stored.info.tags['molecule:managed'] !== 'true') {
      throw new Error(`memory: refusing to terminate ${instanceId}: it is not managed by Molecule`);
    }
    stored.info.state = 'terminated';
    stored.pendingReads = 0;
  }

  private findSync(operationId: string): InstanceInfo | undefined {
    for (const [id, stored] of this.backend.instances) {
      if (
        stored.info.tags['molecule:operation'] === operationId &&
        stored.info.state !== 'terminated'
      ) {
        return this.read(id);
      }
    }
    return undefined;
  }

  private create(tags: InstanceTags, state: 'pending' | 'running', port: number): InstanceInfo {
    const info: InstanceInfo = {
      instanceId: `mem-${this.backend.nextId.toString(16).padStart(12, '0')}`,
      state,
      address: this.options.address ?? '127.0.0.1',
      port,
      tags,
      launchedAt: new Date(),
    };
    this.backend.nextId += 1;
    this.backend.instances.set(info.instanceId, {
      info,
      pendingReads: state === 'pending' ? 1 : 0,
    });
    return info;
  }

  private read(instanceId: string): InstanceInfo | undefined {
    const stored = this.backend.instances.get(instanceId);
    if (!stored) return undefined;
    if (stored.info.state === 'pending') {
      if (stored.pendingReads > 0) stored.pendingReads -= 1;
      else stored.info.state = 'running';
    }
    return copy(stored.info);
  }

  private allocatePort(): number {
    const port = this.backend.nextPort;
    this.backend.nextPort += 1;
    return port;
  }
}

function copy(info: InstanceInfo): InstanceInfo {
  return { ...info, tags: { ...info.tags }, launchedAt: new Date(info.launchedAt) };
}
