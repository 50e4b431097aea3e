import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type EC2ClientConfig,
  type Filter,
  type Instance,
  type IpPermission,
  type Tag,
  type _InstanceType,
} from '@aws-sdk/client-ec2';
import { renderCloudConfig, toUserData } from '@molecule/boot';
import type {
  ComputeDriver,
  InstanceInfo,
  InstanceState,
  InstanceTags,
  LaunchRequest,
} from '../compute-driver';
import { assertLaunchRequest } from '../launch-request';

export interface Ec2ComputeDriverOptions {
  /** The region the injected client talks to; a launch asking for another one is refused. */
  region: string;
  amiId: string;
  vpcId: string;
  subnetId: string;
  /** Where tenant traffic comes from (the edge router's ranges). */
  ingressCidrs: readonly string[];
  /** The only range SSH (22) is opened to; without it, SSH stays closed. */
  adminCidr?: string;
  /** Tier → instance type, e.g. `{ small: 't3.small' }`. */
  instanceTypes: Readonly<Record<string, string>>;
  securityGroupName?: string;
  /** Where the control plane's health checks come from. */
  controlPlaneCidrs?: readonly string[];
}

export const DEFAULT_SECURITY_GROUP_NAME = 'molecule-managed-hosts';
/** Carries the boot port, so an instance read back from EC2 knows where its host serves. */
export const PORT_TAG = 'molecule:port';

/**
 * Builds the client the EC2 driver expects. Throttling (`RequestLimitExceeded`, `Throttling`,
 * `ThrottlingException`), 5xx and timeouts are retried by the SDK itself: its standard retry
 * classifies every one of those as retryable and backs off exponentially with full jitter, and
 * `adaptive` mode also slows the client's sending rate after throttling, which is what EC2's
 * account-wide API rate limit asks for. The driver therefore adds no retry loop of its own, which
 * would only multiply attempts. Every call it makes is safe to repeat: RunInstances carries a
 * client token, and the other calls are reads or idempotent.
 */
export function createEc2Client(
  region: string,
  config: Omit<EC2ClientConfig, 'region'> = {},
): EC2Client {
  return new EC2Client({ maxAttempts: 8, retryMode: 'adaptive', ...config, region });
}

/** Not terminated: what `listManaged` and `findByOperation` consider to still exist. */
const LIVE_STATES = ['pending', 'running', 'stopping', 'stopped', 'shutting-down'];
const NOT_FOUND = ['InvalidInstanceID.NotFound', 'InvalidInstanceID.Malformed'];
const SSH_PORT = 22;

/**
 * The compute port on EC2 (SPEC §2, §5.7, §5.8). Hosts boot from cloud-init user data rendered
 * from the boot spec, with IMDSv2 only, and sit in one security group that admits the boot port
 * from the configured ranges alone. Idempotency is two-layered: a launch first looks for an
 * instance tagged with its operation, and RunInstances carries the operation as its client
 * token, so even a retry that the tag lookup cannot see yet (EC2 is eventually consistent)
 * returns the original instance instead of starting a second one.
 */
export class Ec2ComputeDriver implements ComputeDriver {
  readonly provider = 'ec2' as const;
  private readonly groupName: string;

  constructor(
    private readonly client: EC2Client,
    private readonly options: Ec2ComputeDriverOptions,
  ) {
    // Refused at construction, before any AWS call: a misconfiguration must stop the service
    // from starting, not surface on the first launch.
    assertSafeCidrs(options);
    this.groupName = options.securityGroupName ?? DEFAULT_SECURITY_GROUP_NAME;
  }

  async launch(request: LaunchRequest): Promise<InstanceInfo> {
    assertLaunchRequest(request);
    if (request.region !== undefined && request.region !== this.options.region) {
      throw new Error(
        `ec2: launch asks for region ${request.region}, but this driver runs in ${this.options.region}`,
      );
    }
    const instanceType = this.options.instanceTypes[request.tier];
    if (!Object.hasOwn(this.options.instanceTypes, request.tier) || !instanceType) {
      throw new Error(`ec2: no instance type is configured for tier "${request.tier}"`);
    }
    // Rendered before any AWS call, so an invalid boot spec leaves nothing behind.
    const { userData } = toUserData(renderCloudConfig(request.boot));

    const existing = await this.findByOperation(request.operationId);
    if (existing) return existing;

    const groupId = await this.ensureSecurityGroup(request.boot.port);
    const tags: Tag[] = [
      ...Object.entries<string>({ ...request.tags }).map(([Key, Value]) => ({ Key, Value })),
      { Key: PORT_TAG, Value: String(request.boot.port) },
      { Key: 'Name', Value: nameFor(request.tags) },
    ];
    const clientToken = clientTokenFor(request.operationId);
    try {
      const out = await this.client.send(
        new RunInstancesCommand({
          ClientToken: clientToken,
          ImageId: request.imageId ?? this.options.amiId,
          // Any type name is passed through: EC2 itself refuses one it does not know.
          InstanceType: instanceType as _InstanceType,
          MinCount: 1,
          MaxCount: 1,
          SubnetId: this.options.subnetId,
          SecurityGroupIds: [groupId],
          // IMDSv2 only, and a hop limit of 1 so a container on the host cannot reach the
          // metadata service (and the instance role's credentials) through the bridge.
          MetadataOptions: {
            HttpTokens: 'required',
            HttpPutResponseHopLimit: 1,
            HttpEndpoint: 'enabled',
          },
          TagSpecifications: [
            { ResourceType: 'instance', Tags: tags },
            { ResourceType: 'volume', Tags: tags },
          ],
          UserData: userData,
        }),
      );
      const instance = out.Instances?.[0];
      if (!instance?.InstanceId) throw new Error('ec2: RunInstances returned no instance');
      return toInstanceInfo(instance);
    } catch (error) {
      // The token was used before with other parameters (say, a re-rendered bootstrap token).
      // If that first instance still exists it is the answer; otherwise a new operation is needed.
      if (isAwsError(error, 'IdempotentParameterMismatch')) {
        const [previous] = await this.describeWhere([
          { Name: 'client-token', Values: [clientToken] },
          { Name: 'instance-state-name', Values: LIVE_STATES },
        ]);
        if (previous) return previous;
        throw new Error(
          `ec2: operation ${request.operationId} already launched an instance that is gone; ` +
            'launch again under a new operation',
          { cause: error },
        );
      }
      throw error;
    }
  }

  async describe(instanceId: string): Promise<InstanceInfo | undefined> {
    try {
      const out = await this.client.send(
        new DescribeInstancesCommand({ InstanceIds: [instanceId] }),
      );
      const instance = out.Reservations?.flatMap((r) => r.Instances ?? [])[0];
      return instance?.InstanceId ? toInstanceInfo(instance) : undefined;
    } catch (error) {
      if (isAwsError(error, ...NOT_FOUND)) return undefined;
      throw error;
    }
  }

  async findByOperation(operationId: string): Promise<InstanceInfo | undefined> {
    const found = await this.describeWhere([
      { Name: 'tag:molecule:operation', Values: [operationId] },
      { Name: 'instance-state-name', Values: LIVE_STATES },
    ]);
    return found[0];
  }

  async listManaged(): Promise<InstanceInfo[]> {
    return this.describeWhere([
      { Name: 'tag:molecule:managed', Values: ['true'] },
      { Name: 'instance-state-name', Values: LIVE_STATES },
    ]);
  }

  async terminate(instanceId: string): Promise<void> {
    // Looked up first so a wrong id (a bug, or a tampered row) can never terminate an instance
    // this control plane does not own: only `molecule:managed` instances are ever touched.
    const current = await this.describe(instanceId);
    if (!current || current.state === 'terminated') return;
    if (current.tags['molecule:managed'] !== 'true') {
      throw new Error(`ec2: refusing to terminate ${instanceId}: it is not managed by Molecule`);
    }
    try {
      await this.client.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
    } catch (error) {
      if (!isAwsError(error, ...NOT_FOUND)) throw error;
    }
  }

  private async describeWhere(filters: Filter[]): Promise<InstanceInfo[]> {
    const found: InstanceInfo[] = [];
    let nextToken: string | undefined;
    do {
      const out = await this.client.send(
        new DescribeInstancesCommand({ Filters: filters, MaxResults: 1000, NextToken: nextToken }),
      );
      for (const instance of out.Reservations?.flatMap((r) => r.Instances ?? []) ?? []) {
        if (instance.InstanceId) found.push(toInstanceInfo(instance));
      }
      nextToken = out.NextToken;
    } while (nextToken);
    return found;
  }

  /**
   * Finds or creates the managed hosts' group and opens the boot port to exactly the configured
   * ranges. Only missing rules are added (EC2 rejects a whole batch when one rule exists), and a
   * concurrent launch adding the same rule first is harmless.
   */
  private async ensureSecurityGroup(port: number): Promise<string> {
    let group = await this.findSecurityGroup();
    if (!group) {
      try {
        const created = await this.client.send(
          new CreateSecurityGroupCommand({
            GroupName: this.groupName,
            Description: 'Molecule managed hosts: boot port from the edge and control plane only',
            VpcId: this.options.vpcId,
            TagSpecifications: [
              {
                ResourceType: 'security-group',
                Tags: [
                  { Key: 'molecule:managed', Value: 'true' },
                  { Key: 'Name', Value: this.groupName },
                ],
              },
            ],
          }),
        );
        group = { groupId: created.GroupId ?? '', permissions: [] };
      } catch (error) {
        if (!isAwsError(error, 'InvalidGroup.Duplicate')) throw error;
        group = await this.findSecurityGroup();
      }
      if (!group?.groupId)
        throw new Error(`ec2: could not create security group ${this.groupName}`);
    }

    const open = group.permissions.some((p) =>
      [...(p.IpRanges ?? []).map((r) => r.CidrIp), ...(p.Ipv6Ranges ?? []).map((r) => r.CidrIpv6)]
        .filter((cidr): cidr is string => cidr !== undefined)
        .some(isWholeInternet),
    );
    if (open) {
      // Someone opened the group by hand. Launching into it would break SPEC §5.8; removing the
      // rule silently could break whatever they did it for. Stop and say so.
      throw new Error(
        `ec2: security group ${this.groupName} admits 0.0.0.0/0 or ::/0; refusing to launch into it`,
      );
    }

    const existing = new Set(group.permissions.flatMap(ruleKeys));
    const wanted = [
      ...[...(this.options.ingressCidrs ?? []), ...(this.options.controlPlaneCidrs ?? [])].map(
        (cidr) => ingressRule(port, cidr, 'Molecule edge and control plane'),
      ),
      ...(this.options.adminCidr
        ? [ingressRule(SSH_PORT, this.options.adminCidr, 'Molecule admin SSH')]
        : []),
    ];
    const seen = new Set<string>();
    for (const rule of wanted) {
      const [key] = ruleKeys(rule);
      if (key === undefined || existing.has(key) || seen.has(key)) continue;
      seen.add(key);
      try {
        await this.client.send(
          new AuthorizeSecurityGroupIngressCommand({
            GroupId: group.groupId,
            IpPermissions: [rule],
          }),
        );
      } catch (error) {
        if (!isAwsError(error, 'InvalidPermission.Duplicate')) throw error;
      }
    }
    return group.groupId;
  }

  private async findSecurityGroup(): Promise<
    { groupId: string; permissions: IpPermission[] } | undefined
  > {
    const out = await this.client.send(
      new DescribeSecurityGroupsCommand({
        Filters: [
          { Name: 'group-name', Values: [this.groupName] },
          { Name: 'vpc-id', Values: [this.options.vpcId] },
        ],
      }),
    );
    const group = out.SecurityGroups?.[0];
    return group?.GroupId
      ? { groupId: group.GroupId, permissions: group.IpPermissions ?? [] }
      : undefined;
  }
}

function toInstanceInfo(instance: Instance): InstanceInfo {
  const tags = Object.fromEntries(
    (instance.Tags ?? [])
      .filter((t): t is { Key: string; Value: string } => t.Key !== undefined)
      .map((t) => [t.Key, t.Value ?? '']),
  );
  const port = Number.parseInt(tags[PORT_TAG] ?? '', 10);
  // Only the molecule:* tags of InstanceTags; cost-allocation or other tools' tags stay out.
  const moleculeTags = Object.fromEntries(
    Object.entries(tags).filter(([key]) => key.startsWith('molecule:') && key !== PORT_TAG),
  );
  return {
    instanceId: instance.InstanceId ?? '',
    state: toState(instance.State?.Name),
    address: instance.PrivateIpAddress,
    publicAddress: instance.PublicIpAddress,
    port: Number.isInteger(port) ? port : 0,
    // Instances read back from EC2 carry whatever tags they have; a foreign one lacks ours.
    tags: moleculeTags as unknown as InstanceTags,
    launchedAt: instance.LaunchTime ?? new Date(0),
  };
}

function toState(name: string | undefined): InstanceState {
  switch (name) {
    case 'running':
    case 'stopping':
    case 'stopped':
    case 'terminated':
      return name;
    case 'shutting-down':
      return 'stopping';
    default:
      return 'pending';
  }
}

/** EC2 caps client tokens at 64 ASCII characters; a longer operation id is hashed to fit. */
function clientTokenFor(operationId: string): string {
  return /^[\x21-\x7e]{1,64}$/.test(operationId)
    ? operationId
    : createHash('sha256').update(operationId).digest('hex');
}

function nameFor(tags: InstanceTags): string {
  return `molecule-${tags['molecule:resource-type']}-${tags['molecule:resource']}`.slice(0, 255);
}

function ingressRule(port: number, cidr: string, description: string): IpPermission {
  const v6 = cidr.includes(':');
  return {
    IpProtocol: 'tcp',
    FromPort: port,
    ToPort: port,
    ...(v6
      ? { Ipv6Ranges: [{ CidrIpv6: cidr, Description: description }] }
      : { IpRanges: [{ CidrIp: cidr, Description: description }] }),
  };
}

/** One key per (protocol, ports, range), to compare wanted rules with the group's. */
function ruleKeys(p: IpPermission): string[] {
  const prefix = `${p.IpProtocol}:${p.FromPort}:${p.ToPort}`;
  return [
    ...(p.IpRanges ?? []).map((r) => `${prefix}:${r.CidrIp}`),
    ...(p.Ipv6Ranges ?? []).map((r) => `${prefix}:${r.CidrIpv6}`),
  ];
}

function assertSafeCidrs(options: Ec2ComputeDriverOptions): void {
  const all = [
    ...(options.ingressCidrs ?? []),
    ...(options.controlPlaneCidrs ?? []),
    ...(options.adminCidr !== undefined ? [options.adminCidr] : []),
  ];
  for (const cidr of all) {
    if (!isCidr(cidr)) throw new Error(`ec2: "${cidr}" is not a CIDR range`);
    // SPEC §5.8: nothing is ever open to the whole internet, not even by a config slip.
    if (isWholeInternet(cidr)) {
      throw new Error(`ec2: refusing ${cidr}: hosts are never open to the whole internet`);
    }
  }
  if ((options.ingressCidrs ?? []).length + (options.controlPlaneCidrs ?? []).length === 0) {
    throw new Error('ec2: configure ingressCidrs or controlPlaneCidrs, or no one can reach a host');
  }
}

function isCidr(value: string): boolean {
  const match = /^([^/]+)\/(\d{1,3})$/.exec(value);
  if (!match?.[1] || !match[2]) return false;
  const family = isIP(match[1]);
  const bits = Number(match[2]);
  return (family === 4 && bits <= 32) || (family === 6 && bits <= 128);
}

/** A /0 covers every address whatever its base address says (EC2 treats 1.2.3.4/0 as 0.0.0.0/0). */
function isWholeInternet(cidr: string): boolean {
  return /\/0+$/.test(cidr.trim());
}

function isAwsError(error: unknown, ...names: string[]): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { Code?: unknown }).Code;
  return names.includes(error.name) || (typeof code === 'string' && names.includes(code));
}
