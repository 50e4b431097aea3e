import { beforeEach, describe, expect, it } from '@jest/globals';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type IpPermission,
  type RunInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { randomUUID } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { ec2Error, FakeEc2 } from '../../test-fixtures/fake-ec2';
import type { LaunchRequest } from '../compute-driver';
import { describeComputeDriverContract } from '../compute-driver.contract';
import { createEc2Client, Ec2ComputeDriver, type Ec2ComputeDriverOptions } from './ec2.driver';

// Documentation ranges (RFC 5737 / RFC 3849): never real networks.
const options: Ec2ComputeDriverOptions = {
  region: 'eu-west-1',
  amiId: 'ami-0123456789abcdef0',
  vpcId: 'vpc-0123456789abcdef0',
  subnetId: 'subnet-0123456789abcdef0',
  ingressCidrs: ['198.51.100.0/24', '2001:db8::/32'],
  controlPlaneCidrs: ['192.0.2.10/32'],
  adminCidr: '203.0.113.7/32',
  instanceTypes: { small: 't3.small', large: 'm7i.large' },
};
const credentials = { accessKeyId: 'AKIDEXAMPLEONLY', secretAccessKey: 'example-only-not-a-key' };

function newClient(): EC2Client {
  return new EC2Client({ region: options.region, credentials });
}

describeComputeDriverContract('ec2 (mocked SDK, stateful fake)', async () => {
  const fake = new FakeEc2();
  const client = newClient();
  fake.install(client);
  return {
    driver: new Ec2ComputeDriver(client, options),
    reopen: async () => new Ec2ComputeDriver(client, options),
    addForeignInstance: async () => fake.addForeignInstance(),
    cleanup: async () => undefined,
  };
});

function request(overrides: Partial<LaunchRequest> = {}): LaunchRequest {
  const operationId = overrides.operationId ?? randomUUID();
  return {
    operationId,
    tier: 'small',
    tags: {
      'molecule:managed': 'true',
      'molecule:org': 'org-acme',
      'molecule:resource-type': 'org',
      'molecule:resource': 'org-acme-id',
      'molecule:operation': operationId,
    },
    boot: {
      role: 'tenant',
      launchId: operationId,
      config: { ORG_SLUG: 'acme' },
      secrets: { ADMIN_TOKEN: 'tenant-admin-token-example-only' },
      port: 8443,
      healthPath: '/health',
      image: 'registry.example.invalid/tenant:1.2.3',
    },
    ...overrides,
  };
}

function runInput(mock: AwsClientStub<EC2Client>, call = 0): RunInstancesCommandInput {
  return mock.commandCalls(RunInstancesCommand)[call]?.args[0].input ?? {};
}

function authorizedRules(mock: AwsClientStub<EC2Client>): IpPermission[] {
  return mock
    .commandCalls(AuthorizeSecurityGroupIngressCommand)
    .flatMap((call) => call.args[0].input.IpPermissions ?? []);
}

function cidrsOf(rule: IpPermission): string[] {
  return [
    ...(rule.IpRanges ?? []).map((r) => r.CidrIp ?? ''),
    ...(rule.Ipv6Ranges ?? []).map((r) => r.CidrIpv6 ?? ''),
  ];
}

describe('Ec2ComputeDriver', () => {
  let fake: FakeEc2;
  let client: EC2Client;
  let mock: AwsClientStub<EC2Client>;
  let driver: Ec2ComputeDriver;

  beforeEach(() => {
    fake = new FakeEc2();
    client = newClient();
    mock = fake.install(client);
    driver = new Ec2ComputeDriver(client, options);
  });

  describe('launch', () => {
    it('runs one instance with the operation as client token and IMDSv2 only', async () => {
      const req = request({ tier: 'large' });
      const launched = await driver.launch(req);

      expect(mock).toHaveReceivedCommandTimes(RunInstancesCommand, 1);
      expect(mock).toHaveReceivedCommandWith(RunInstancesCommand, {
        ClientToken: req.operationId,
        ImageId: options.amiId,
        InstanceType: 'm7i.large',
        MinCount: 1,
        MaxCount: 1,
        SubnetId: options.subnetId,
        SecurityGroupIds: [expect.stringMatching(/^sg-/)],
        MetadataOptions: {
          HttpTokens: 'required',
          HttpPutResponseHopLimit: 1,
          HttpEndpoint: 'enabled',
        },
      });
      expect(launched).toMatchObject({
        state: 'pending',
        port: 8443,
        address: expect.stringMatching(/^10\./),
        publicAddress: expect.any(String),
        tags: req.tags,
      });
    });

    it('tags the instance and its volumes with every Molecule tag, the port and a name', async () => {
      const req = request();
      await driver.launch(req);

      const specs = runInput(mock).TagSpecifications ?? [];
      expect(specs.map((s) => s.ResourceType).sort()).toEqual(['instance', 'volume']);
      for (const spec of specs) {
        expect(spec.Tags).toEqual(
          expect.arrayContaining([
            { Key: 'molecule:managed', Value: 'true' },
            { Key: 'molecule:org', Value: 'org-acme' },
            { Key: 'molecule:resource-type', Value: 'org' },
            { Key: 'molecule:resource', Value: 'org-acme-id' },
            { Key: 'molecule:operation', Value: req.operationId },
            { Key: 'molecule:port', Value: '8443' },
            { Key: 'Name', Value: 'molecule-org-org-acme-id' },
          ]),
        );
      }
    });

    it('sends the rendered cloud-config as base64 user data', async () => {
      await driver.launch(request());

      const text = Buffer.from(runInput(mock).UserData ?? '', 'base64').toString('utf8');
      expect(text.startsWith('#cloud-config\n')).toBe(true);
      expect(text).toContain('/etc/molecule/molecule.env');
    });

    it('gzips large user data', async () => {
      const big = Object.fromEntries(
        Array.from({ length: 400 }, (_, i) => [`SETTING_${i}`, `value-${i}-${'x'.repeat(24)}`]),
      );
      const req = request();
      await driver.launch({ ...req, boot: { ...req.boot, config: big } });

      const raw = Buffer.from(runInput(mock).UserData ?? '', 'base64');
      expect(raw.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
      expect(gunzipSync(raw).toString('utf8').startsWith('#cloud-config\n')).toBe(true);
      expect(runInput(mock).UserData?.length).toBeLessThanOrEqual(16_384);
    });

    it('returns the existing instance of the operation without calling RunInstances', async () => {
      const req = request();
      const earlier = fake.addInstance({ ...req.tags, 'molecule:port': '8443' });

      const launched = await driver.launch(req);

      expect(launched.instanceId).toBe(earlier);
      expect(mock).toHaveReceivedCommandTimes(RunInstancesCommand, 0);
      expect(mock).toHaveReceivedCommandWith(DescribeInstancesCommand, {
        Filters: expect.arrayContaining([
          { Name: 'tag:molecule:operation', Values: [req.operationId] },
        ]),
      });
    });

    it('calls RunInstances once when the same operation is launched twice', async () => {
      const req = request();
      const first = await driver.launch(req);
      const second = await driver.launch(req);

      expect(second.instanceId).toBe(first.instanceId);
      expect(mock).toHaveReceivedCommandTimes(RunInstancesCommand, 1);
    });

    it('returns the live instance of a client token reused with other parameters', async () => {
      const req = request();
      const first = await driver.launch(req);
      // The tag lookup misses it (EC2 is eventually consistent) and the boot spec was
      // re-rendered, so RunInstances answers IdempotentParameterMismatch.
      mock
        .on(DescribeInstancesCommand, {
          Filters: [
            { Name: 'tag:molecule:operation', Values: [req.operationId] },
            {
              Name: 'instance-state-name',
              Values: ['pending', 'running', 'stopping', 'stopped', 'shutting-down'],
            },
          ],
        })
        .resolves({ Reservations: [] });
      const again = await driver.launch({
        ...req,
        boot: { ...req.boot, secrets: { ADMIN_TOKEN: 'a-different-example-token' } },
      });

      expect(again.instanceId).toBe(first.instanceId);
      expect(mock).toHaveReceivedCommandTimes(RunInstancesCommand, 2);
    });

    it('refuses an unknown tier, another region or an invalid boot spec before any AWS call', async () => {
      await expect(driver.launch(request({ tier: 'huge' }))).rejects.toThrow(
        'no instance type is configured for tier "huge"',
      );
      await expect(driver.launch(request({ tier: 'toString' }))).rejects.toThrow('tier');
      await expect(driver.launch(request({ region: 'us-east-1' }))).rejects.toThrow('region');
      const req = request();
      const secret = 'line-one\nline-two-secret-value';
      await expect(
        driver.launch({ ...req, boot: { ...req.boot, secrets: { ADMIN_TOKEN: secret } } }),
      ).rejects.toThrow(
        expect.objectContaining({ message: expect.not.stringContaining('secret-value') }),
      );

      expect(mock.calls()).toHaveLength(0);
    });
  });

  describe('security group', () => {
    it('creates the group when missing and opens the boot port to the configured ranges only', async () => {
      await driver.launch(request());

      expect(mock).toHaveReceivedCommandWith(CreateSecurityGroupCommand, {
        GroupName: 'molecule-managed-hosts',
        VpcId: options.vpcId,
        TagSpecifications: [
          {
            ResourceType: 'security-group',
            Tags: expect.arrayContaining([
              { Key: 'molecule:managed', Value: 'true' },
            ]) as unknown as [],
          },
        ],
      });
      const rules = authorizedRules(mock);
      const bootRules = rules.filter((r) => r.FromPort === 8443);
      expect(bootRules.every((r) => r.IpProtocol === 'tcp' && r.ToPort === 8443)).toBe(true);
      expect(bootRules.flatMap(cidrsOf).sort()).toEqual(
        ['198.51.100.0/24', '2001:db8::/32', '192.0.2.10/32'].sort(),
      );
      const sshRules = rules.filter((r) => r.FromPort === 22 || r.ToPort === 22);
      expect(sshRules.flatMap(cidrsOf)).toEqual(['203.0.113.7/32']);
      expect(rules.every((r) => r.FromPort === 22 || r.FromPort === 8443)).toBe(true);
      expect(rules.flatMap(cidrsOf)).not.toContain('0.0.0.0/0');
      expect(rules.flatMap(cidrsOf)).not.toContain('::/0');
      expect(runInput(mock).SecurityGroupIds).toEqual([fake.groups[0]?.GroupId]);
    });

    it('leaves SSH closed without an admin range', async () => {
      const { adminCidr: _admin, ...withoutAdmin } = options;
      await new Ec2ComputeDriver(client, withoutAdmin).launch(request());

      expect(authorizedRules(mock).filter((r) => r.FromPort === 22)).toEqual([]);
    });

    it('reuses the group and adds only missing rules, tolerating a concurrent duplicate', async () => {
      const groupId = fake.addSecurityGroup({
        name: 'molecule-managed-hosts',
        vpcId: options.vpcId,
        permissions: [
          {
            IpProtocol: 'tcp',
            FromPort: 8443,
            ToPort: 8443,
            IpRanges: [{ CidrIp: '198.51.100.0/24' }],
          },
        ],
      });
      // Another launch adds this rule between our describe and our authorize.
      const sshRule: IpPermission = {
        IpProtocol: 'tcp',
        FromPort: 22,
        ToPort: 22,
        IpRanges: [{ CidrIp: '203.0.113.7/32', Description: 'Molecule admin SSH' }],
      };
      mock
        .on(AuthorizeSecurityGroupIngressCommand, { GroupId: groupId, IpPermissions: [sshRule] })
        .rejectsOnce(ec2Error('InvalidPermission.Duplicate'));

      await driver.launch(request());

      expect(mock).toHaveReceivedCommandTimes(CreateSecurityGroupCommand, 0);
      expect(mock).toHaveReceivedCommandWith(AuthorizeSecurityGroupIngressCommand, {
        IpPermissions: [sshRule],
      });
      // The duplicate answer came from the override, not the fake, which never saw the rule.
      const portsInFake = (fake.groups[0]?.IpPermissions ?? []).map((p) => p.FromPort);
      expect(portsInFake).not.toContain(22);
      expect(authorizedRules(mock).flatMap(cidrsOf)).not.toContain('198.51.100.0/24');
      expect(mock).toHaveReceivedCommandTimes(RunInstancesCommand, 1);
      expect(runInput(mock).SecurityGroupIds).toEqual([groupId]);
    });

    it('refuses to launch into a group someone opened to the internet', async () => {
      fake.addSecurityGroup({
        name: 'molecule-managed-hosts',
        vpcId: options.vpcId,
        permissions: [
          { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
        ],
      });

      await expect(driver.launch(request())).rejects.toThrow('refusing to launch');
      expect(mock).toHaveReceivedCommandTimes(RunInstancesCommand, 0);
    });

    it.each([
      ['an ingress range', { ingressCidrs: ['0.0.0.0/0'] }],
      ['an IPv6 ingress range', { ingressCidrs: ['::/0'] }],
      ['a control plane range', { controlPlaneCidrs: ['10.0.0.0/8', '0.0.0.0/0'] }],
      ['the admin range', { adminCidr: '0.0.0.0/0' }],
      ['a /0 with another base address', { ingressCidrs: ['10.1.2.3/0'] }],
    ])('refuses the whole internet as %s before any AWS call', (_what, override) => {
      expect(() => new Ec2ComputeDriver(client, { ...options, ...override })).toThrow(
        'never open to the whole internet',
      );
      expect(mock.calls()).toHaveLength(0);
    });

    it('refuses a range that is not a CIDR, and a config no one could reach', () => {
      expect(() => new Ec2ComputeDriver(client, { ...options, adminCidr: 'anywhere' })).toThrow(
        'not a CIDR',
      );
      expect(
        () => new Ec2ComputeDriver(client, { ...options, ingressCidrs: [], controlPlaneCidrs: [] }),
      ).toThrow('ingressCidrs');
      expect(mock.calls()).toHaveLength(0);
    });
  });

  describe('reads', () => {
    it('maps EC2 states, treating shutting-down as stopping', async () => {
      const ids = {
        pending: fake.addInstance(request().tags, 'pending'),
        stopping: fake.addInstance(request().tags, 'stopping'),
        stopped: fake.addInstance(request().tags, 'stopped'),
        'shutting-down': fake.addInstance(request().tags, 'shutting-down'),
        terminated: fake.addInstance(request().tags, 'terminated'),
      };
      fake.transitionReads = Number.POSITIVE_INFINITY;
      for (const id of Object.values(ids)) {
        const stored = fake.instances.get(id);
        if (stored) stored.transitionReads = Number.POSITIVE_INFINITY;
      }

      expect((await driver.describe(ids.pending))?.state).toBe('pending');
      expect((await driver.describe(ids.stopping))?.state).toBe('stopping');
      expect((await driver.describe(ids.stopped))?.state).toBe('stopped');
      expect((await driver.describe(ids['shutting-down']))?.state).toBe('stopping');
      expect((await driver.describe(ids.terminated))?.state).toBe('terminated');
      const listed = (await driver.listManaged()).map((i) => i.instanceId);
      expect(listed).not.toContain(ids.terminated);
      expect(listed).toHaveLength(4);
    });

    it('follows NextToken through every page of managed instances', async () => {
      fake.pageSize = 2;
      const ids = Array.from({ length: 5 }, () => fake.addInstance(request().tags));
      fake.addForeignInstance();

      const listed = await driver.listManaged();

      expect(listed.map((i) => i.instanceId).sort()).toEqual([...ids].sort());
      expect(mock).toHaveReceivedCommandTimes(DescribeInstancesCommand, 3);
      expect(mock).toHaveReceivedCommandWith(DescribeInstancesCommand, {
        Filters: [
          { Name: 'tag:molecule:managed', Values: ['true'] },
          {
            Name: 'instance-state-name',
            Values: ['pending', 'running', 'stopping', 'stopped', 'shutting-down'],
          },
        ],
      });
    });

    it('keeps only the Molecule tags of an instance', async () => {
      const tags = request().tags;
      const id = fake.addInstance({ ...tags, 'molecule:port': '9000', CostCenter: 'ops' });

      const info = await driver.describe(id);

      expect(info?.tags).toEqual(tags);
      expect(info?.port).toBe(9000);
    });

    it('answers undefined for an unknown or malformed id', async () => {
      expect(await driver.describe('i-0123456789abcdef0')).toBeUndefined();
      expect(await driver.describe('not-an-instance')).toBeUndefined();
    });
  });

  describe('terminate', () => {
    it('terminates a managed instance', async () => {
      const launched = await driver.launch(request());
      await driver.terminate(launched.instanceId);

      expect(mock).toHaveReceivedCommandWith(TerminateInstancesCommand, {
        InstanceIds: [launched.instanceId],
      });
    });

    it('accepts NotFound from TerminateInstances (gone in between)', async () => {
      const launched = await driver.launch(request());
      mock.on(TerminateInstancesCommand).rejects(ec2Error('InvalidInstanceID.NotFound'));

      await expect(driver.terminate(launched.instanceId)).resolves.toBeUndefined();
    });

    it('does not call TerminateInstances for an unknown or terminated instance', async () => {
      const gone = fake.addInstance(request().tags, 'terminated');

      await driver.terminate('i-0123456789abcdef0');
      await driver.terminate(gone);

      expect(mock).toHaveReceivedCommandTimes(TerminateInstancesCommand, 0);
    });

    it('passes on other errors', async () => {
      const launched = await driver.launch(request());
      mock.on(TerminateInstancesCommand).rejects(ec2Error('UnauthorizedOperation'));

      await expect(driver.terminate(launched.instanceId)).rejects.toThrow('UnauthorizedOperation');
    });
  });
});

/**
 * The retry behaviour is the SDK's own (see `createEc2Client`), so it is tested through a real
 * client whose HTTP layer is replaced: aws-sdk-client-mock stubs `send` and would bypass it.
 */
describe('createEc2Client', () => {
  interface FakeResponse {
    status: number;
    body: string;
  }

  function clientAnswering(responses: FakeResponse[]): { client: EC2Client; actions: string[] } {
    const actions: string[] = [];
    const requestHandler = {
      handle: async (httpRequest: { body?: unknown }) => {
        actions.push(new URLSearchParams(String(httpRequest.body)).get('Action') ?? '');
        const next = responses.shift() ?? { status: 500, body: '' };
        return {
          response: {
            statusCode: next.status,
            headers: { 'content-type': 'text/xml;charset=UTF-8' },
            body: Buffer.from(next.body),
          },
        };
      },
    };
    const client = createEc2Client('eu-west-1', {
      credentials,
      requestHandler: requestHandler as never,
    });
    return { client, actions };
  }

  const error = (code: string, status: number): FakeResponse => ({
    status,
    body: `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>${code}</Code><Message>fake</Message></Error></Errors><RequestID>req-1</RequestID></Response>`,
  });
  const emptyDescribe: FakeResponse = {
    status: 200,
    body: '<?xml version="1.0" encoding="UTF-8"?><DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>req-2</requestId><reservationSet/></DescribeInstancesResponse>',
  };

  it('retries RequestLimitExceeded and succeeds', async () => {
    const { client, actions } = clientAnswering([
      error('RequestLimitExceeded', 503),
      error('RequestLimitExceeded', 503),
      emptyDescribe,
    ]);
    const driver = new Ec2ComputeDriver(client, options);

    await expect(driver.listManaged()).resolves.toEqual([]);
    expect(actions).toEqual(['DescribeInstances', 'DescribeInstances', 'DescribeInstances']);
  }, 30_000);

  it('retries a 5xx and Throttling, but not a client error', async () => {
    const { client, actions } = clientAnswering([
      error('InternalError', 500),
      error('Throttling', 400),
      emptyDescribe,
      error('InvalidInstanceID.NotFound', 400),
    ]);
    const driver = new Ec2ComputeDriver(client, options);

    await expect(driver.listManaged()).resolves.toEqual([]);
    // The SDK names its error after the EC2 code, which is what the driver matches on.
    await expect(driver.describe('i-0123456789abcdef0')).resolves.toBeUndefined();
    expect(actions).toHaveLength(4);
  }, 30_000);

  it('uses adaptive retries with a bounded number of attempts', async () => {
    const client = createEc2Client('eu-west-1', { credentials });
    expect(await client.config.maxAttempts()).toBe(8);
    expect(await client.config.retryStrategy()).toMatchObject({ mode: 'adaptive' });
  });
});
