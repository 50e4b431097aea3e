import type { BootSpec } from '@molecule/boot';

/** Every instance this control plane launches carries these tags (EC2 tags or local metadata). */
export interface InstanceTags {
  /** Always present; the orphan reconciler only ever touches instances with it. */
  'molecule:managed': 'true';
  'molecule:org': string;
  'molecule:resource-type': 'org' | 'workspace';
  'molecule:resource': string;
  'molecule:operation': string;
}

export type InstanceState = 'pending' | 'running' | 'stopping' | 'stopped' | 'terminated';

export interface InstanceInfo {
  instanceId: string;
  state: InstanceState;
  /** Where the control plane reaches the host (private IP on EC2, 127.0.0.1 locally). */
  address?: string;
  publicAddress?: string;
  port: number;
  tags: InstanceTags;
  launchedAt: Date;
}

export interface LaunchRequest {
  /** Idempotency: a second launch with the same operation returns the first instance. */
  operationId: string;
  tags: InstanceTags;
  /** Size class; the EC2 driver maps it to an instance type. */
  tier: string;
  region?: string;
  /** EC2: a pre-baked machine image for this launch instead of the driver's default AMI. */
  imageId?: string;
  boot: BootSpec;
}

/**
 * The compute port. Implementations: `ec2` (AWS SDK) and `local` (child processes). Both pass
 * the shared contract suite. Every method is idempotent and safe to retry after a crash.
 */
export interface ComputeDriver {
  readonly provider: 'local' | 'ec2';
  /** Looks for an instance of `operationId` first and returns it instead of launching twice. */
  launch(request: LaunchRequest): Promise<InstanceInfo>;
  /** Undefined when the instance is unknown (never launched, or long gone). */
  describe(instanceId: string): Promise<InstanceInfo | undefined>;
  findByOperation(operationId: string): Promise<InstanceInfo | undefined>;
  /** Every instance carrying `molecule:managed`, in any state but terminated. */
  listManaged(): Promise<InstanceInfo[]>;
  /** Terminating an unknown or already terminated instance is not an error. */
  terminate(instanceId: string): Promise<void>;
}

export const COMPUTE_DRIVER = Symbol('COMPUTE_DRIVER');
