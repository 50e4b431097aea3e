import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  EC2ServiceException,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type AuthorizeSecurityGroupIngressCommandInput,
  type AuthorizeSecurityGroupIngressCommandOutput,
  type CreateSecurityGroupCommandInput,
  type CreateSecurityGroupCommandOutput,
  type DescribeInstancesCommandInput,
  type DescribeInstancesCommandOutput,
  type DescribeSecurityGroupsCommandInput,
  type DescribeSecurityGroupsCommandOutput,
  type Filter,
  type Instance,
  type InstanceStateName,
  type IpPermission,
  type RunInstancesCommandInput,
  type RunInstancesCommandOutput,
  type SecurityGroup,
  type Tag,
  type TerminateInstancesCommandInput,
  type TerminateInstancesCommandOutput,
} from '@aws-sdk/client-ec2';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { randomBytes } from 'node:crypto';
import type { InstanceTags } from '../src/compute-driver';

/** An error shaped like the ones the SDK throws for EC2 error codes (name = the code). */
export function ec2Error(code: string, fault: 'client' | 'server' = 'client'): EC2ServiceException {
  return new EC2ServiceException({
    name: code,
    $fault: fault,
    $metadata: { httpStatusCode: fault === 'client' ? 400 : 503 },
    message: `${code} (fake)`,
  });
}

interface Stored {
  instance: Instance;
  clientToken?: string;
  /** RunInstances input, to detect a client token reused with other parameters. */
  fingerprint?: string;
  /** Describes left before pending turns running (or shutting-down turns terminated). */
  transitionReads: number;
}

const STATE_CODES: Record<InstanceStateName, number> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

/**
 * A small stateful EC2: enough behaviour behind the mocked commands for the compute contract
 * suite to run against the EC2 driver. It models what the driver relies on: client-token
 * idempotency (and IdempotentParameterMismatch), tag and state filters, pagination, the
 * pending → running and shutting-down → terminated transitions, NotFound/Malformed errors, and
 * security groups whose duplicate rules are refused.
 */
export class FakeEc2 {
  readonly instances = new Map<string, Stored>();
  readonly groups: SecurityGroup[] = [];
  /** Largest page DescribeInstances returns, whatever MaxResults asks. */
  pageSize = 1000;
  /** Reads an instance stays pending (and shutting-down) for. */
  transitionReads = 1;

  /** Puts a mocked client in front of this fake. */
  install(client: EC2Client): AwsClientStub<EC2Client> {
    const stub = mockClient(client);
    stub
      .on(DescribeInstancesCommand)
      .callsFake((input: DescribeInstancesCommandInput) => this.describeInstances(input));
    stub
      .on(RunInstancesCommand)
      .callsFake((input: RunInstancesCommandInput) => this.runInstances(input));
    stub
      .on(TerminateInstancesCommand)
      .callsFake((input: TerminateInstancesCommandInput) => this.terminateInstances(input));
    stub
      .on(DescribeSecurityGroupsCommand)
      .callsFake((input: DescribeSecurityGroupsCommandInput) => this.describeSecurityGroups(input));
    stub
      .on(CreateSecurityGroupCommand)
      .callsFake((input: CreateSecurityGroupCommandInput) => this.createSecurityGroup(input));
    stub
      .on(AuthorizeSecurityGroupIngressCommand)
      .callsFake((input: AuthorizeSecurityGroupIngressCommandInput) =>
        this.authorizeSecurityGroupIngress(input),
      );
    return stub;
  }

  /** An instance some other tool started in the account: running, without Molecule's tags. */
  addForeignInstance(): string {
    const instance = this.create([{ Key: 'Name', Value: 'someone-else' }], 'running');
    return instance.InstanceId ?? '';
  }

  /** Adds an instance directly, as if an earlier provisioner had launched it. */
  addInstance(
    tags: InstanceTags | Readonly<Record<string, string>>,
    state: InstanceStateName = 'running',
  ): string {
    const instance = this.create(
      Object.entries<string>({ ...tags }).map(([Key, Value]) => ({ Key, Value })),
      state,
    );
    return instance.InstanceId ?? '';
  }

  addSecurityGroup(group: { name: string; vpcId: string; permissions?: IpPermission[] }): string {
    const groupId = `sg-${randomBytes(8).toString('hex')}`;
    this.groups.push({
      GroupId: groupId,
      GroupName: group.name,
      VpcId: group.vpcId,
      IpPermissions: group.permissions ?? [],
    });
    return groupId;
  }

  describeInstances(input: DescribeInstancesCommandInput): DescribeInstancesCommandOutput {
    let matches: Stored[];
    if (input.InstanceIds?.length) {
      matches = input.InstanceIds.map((id) => {
        if (!/^i-[0-9a-f]{8,17}$/.test(id)) throw ec2Error('InvalidInstanceID.Malformed');
        const stored = this.instances.get(id);
        if (!stored) throw ec2Error('InvalidInstanceID.NotFound');
        return stored;
      });
    } else {
      matches = [...this.instances.values()];
    }
    for (const stored of matches) this.advance(stored);
    matches = matches.filter((stored) =>
      (input.Filters ?? []).every((filter) => this.matches(stored, filter)),
    );

    const start = input.NextToken ? Number(input.NextToken) : 0;
    const size = Math.min(input.MaxResults ?? 1000, this.pageSize);
    const page = matches.slice(start, start + size);
    const next = start + size < matches.length ? String(start + size) : undefined;
    return {
      $metadata: {},
      Reservations: page.map((stored) => ({ Instances: [cloneInstance(stored.instance)] })),
      NextToken: next,
    };
  }

  runInstances(input: RunInstancesCommandInput): RunInstancesCommandOutput {
    const fingerprint = JSON.stringify(input);
    if (input.ClientToken) {
      const previous = [...this.instances.values()].find(
        (s) => s.clientToken === input.ClientToken,
      );
      if (previous) {
        if (previous.fingerprint !== fingerprint) throw ec2Error('IdempotentParameterMismatch');
        return { $metadata: {}, Instances: [cloneInstance(previous.instance)] };
      }
    }
    if (!input.ImageId || !input.InstanceType) throw ec2Error('MissingParameter');
    if (input.MinCount !== 1 || input.MaxCount !== 1) throw ec2Error('InvalidParameterValue');
    for (const groupId of input.SecurityGroupIds ?? []) {
      if (!this.groups.some((g) => g.GroupId === groupId)) throw ec2Error('InvalidGroup.NotFound');
    }
    const tags = input.TagSpecifications?.find((s) => s.ResourceType === 'instance')?.Tags ?? [];
    const instance = this.create(tags, 'pending', input.InstanceType);
    const stored = this.instances.get(instance.InstanceId ?? '');
    if (stored) {
      stored.clientToken = input.ClientToken;
      stored.fingerprint = fingerprint;
    }
    return { $metadata: {}, Instances: [cloneInstance(instance)] };
  }

  terminateInstances(input: TerminateInstancesCommandInput): TerminateInstancesCommandOutput {
    const changes = (input.InstanceIds ?? []).map((id) => {
      const stored = this.instances.get(id);
      if (!stored) throw ec2Error('InvalidInstanceID.NotFound');
      const previous = stored.instance.State?.Name ?? 'pending';
      if (previous !== 'terminated') {
        this.setState(stored, 'shutting-down');
        stored.transitionReads = this.transitionReads;
      }
      return {
        InstanceId: id,
        PreviousState: { Name: previous, Code: STATE_CODES[previous] },
        CurrentState: stored.instance.State,
      };
    });
    return { $metadata: {}, TerminatingInstances: changes };
  }

  describeSecurityGroups(
    input: DescribeSecurityGroupsCommandInput,
  ): DescribeSecurityGroupsCommandOutput {
    const value = (name: string) => input.Filters?.find((f) => f.Name === name)?.Values ?? [];
    const groups = this.groups.filter(
      (g) =>
        (!value('group-name').length || value('group-name').includes(g.GroupName ?? '')) &&
        (!value('vpc-id').length || value('vpc-id').includes(g.VpcId ?? '')),
    );
    return { $metadata: {}, SecurityGroups: structuredClone(groups) };
  }

  createSecurityGroup(input: CreateSecurityGroupCommandInput): CreateSecurityGroupCommandOutput {
    if (this.groups.some((g) => g.GroupName === input.GroupName && g.VpcId === input.VpcId)) {
      throw ec2Error('InvalidGroup.Duplicate');
    }
    const groupId = this.addSecurityGroup({
      name: input.GroupName ?? '',
      vpcId: input.VpcId ?? '',
    });
    const group = this.groups.find((g) => g.GroupId === groupId);
    if (group) group.Tags = input.TagSpecifications?.[0]?.Tags;
    return { $metadata: {}, GroupId: groupId };
  }

  authorizeSecurityGroupIngress(
    input: AuthorizeSecurityGroupIngressCommandInput,
  ): AuthorizeSecurityGroupIngressCommandOutput {
    const group = this.groups.find((g) => g.GroupId === input.GroupId);
    if (!group) throw ec2Error('InvalidGroup.NotFound');
    const existing = new Set((group.IpPermissions ?? []).flatMap(ruleKeys));
    const added = (input.IpPermissions ?? []).flatMap(ruleKeys);
    // EC2 refuses the whole call when any one rule already exists.
    if (added.some((key) => existing.has(key))) throw ec2Error('InvalidPermission.Duplicate');
    group.IpPermissions = [...(group.IpPermissions ?? []), ...(input.IpPermissions ?? [])];
    return { $metadata: {}, Return: true };
  }

  private create(tags: Tag[], state: InstanceStateName, type = 't3.micro'): Instance {
    const id = `i-${randomBytes(9).toString('hex').slice(0, 17)}`;
    const n = this.instances.size + 10;
    const instance: Instance = {
      InstanceId: id,
      InstanceType: type as Instance['InstanceType'],
      State: { Name: state, Code: STATE_CODES[state] },
      PrivateIpAddress: `10.0.${Math.floor(n / 250)}.${(n % 250) + 1}`,
      PublicIpAddress: `203.0.113.${(n % 250) + 1}`,
      LaunchTime: new Date(),
      Tags: tags.map((tag) => ({ ...tag })),
    };
    this.instances.set(id, { instance, transitionReads: this.transitionReads });
    return instance;
  }

  private advance(stored: Stored): void {
    const state = stored.instance.State?.Name;
    if (state !== 'pending' && state !== 'shutting-down') return;
    if (stored.transitionReads > 0) {
      stored.transitionReads -= 1;
      return;
    }
    this.setState(stored, state === 'pending' ? 'running' : 'terminated');
  }

  private setState(stored: Stored, name: InstanceStateName): void {
    stored.instance.State = { Name: name, Code: STATE_CODES[name] };
  }

  private matches(stored: Stored, filter: Filter): boolean {
    const values = filter.Values ?? [];
    const name = filter.Name ?? '';
    if (name.startsWith('tag:')) {
      const key = name.slice('tag:'.length);
      const tag = stored.instance.Tags?.find((t) => t.Key === key);
      return tag !== undefined && values.includes(tag.Value ?? '');
    }
    if (name === 'instance-state-name') return values.includes(stored.instance.State?.Name ?? '');
    if (name === 'client-token') return values.includes(stored.clientToken ?? '');
    if (name === 'instance-id') return values.includes(stored.instance.InstanceId ?? '');
    throw ec2Error('InvalidParameterValue');
  }
}

/**
 * A deep copy that keeps `LaunchTime` a Date of the test's own realm (`structuredClone` would
 * build it in Node's, which fails Jest's `toBeInstanceOf(Date)`), like the real SDK's output.
 */
function cloneInstance(instance: Instance): Instance {
  return {
    ...instance,
    State: instance.State ? { ...instance.State } : undefined,
    Tags: instance.Tags?.map((tag) => ({ ...tag })),
    LaunchTime: instance.LaunchTime ? new Date(instance.LaunchTime.getTime()) : undefined,
  };
}

function ruleKeys(p: IpPermission): string[] {
  const prefix = `${p.IpProtocol}:${p.FromPort}:${p.ToPort}`;
  return [
    ...(p.IpRanges ?? []).map((r) => `${prefix}:${r.CidrIp}`),
    ...(p.Ipv6Ranges ?? []).map((r) => `${prefix}:${r.CidrIpv6}`),
  ];
}
