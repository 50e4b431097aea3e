import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, HttpCode, Module, Post, type DynamicModule } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { generateToken, hashToken, tokenDisplayPrefix } from '@molecule/crypto';
import {
  Workspace,
  WorkspaceStatus,
  WorkspaceToken as WorkspaceTokenRow,
  WorkspaceTokenKind,
  type Org,
} from '@molecule/database';
import { CoreModule, createServiceApp, type ServiceDefinition } from '@molecule/platform';
import {
  createOrg,
  createOrgKey,
  createPartnerKey,
  createSessionToken,
  createTestDatabase,
  createTestRedisPrefix,
  createWorkspace,
  LogCapture,
  TEST_ADMIN_TOKEN,
  testConfig,
  type TestDatabase,
} from '@molecule/testing';
import {
  CurrentPrincipal,
  OrgKey,
  PartnerKey,
  PlatformAdmin,
  Public,
  WorkspaceToken,
} from './auth.decorators';
import { TOKEN_PREFIX } from './credentials.service';
import type { Principal } from './principal';

/** One route per decorator (and one with none), so the guard can be exercised in isolation. */
@Controller()
class AuthProbeController {
  @Get('open')
  @Public()
  open() {
    return { ok: 'open' };
  }

  @Get('admin')
  @PlatformAdmin()
  admin() {
    return { ok: 'admin' };
  }

  @Get('orgs/:slug/read')
  @OrgKey('viewer')
  orgRead() {
    return { ok: 'read' };
  }

  @Get('orgs/:slug/manage')
  @OrgKey('admin')
  orgManage() {
    return { ok: 'manage' };
  }

  @Post('partner/create')
  @HttpCode(200)
  @PartnerKey('orgs:create')
  partnerCreate() {
    return { ok: 'create' };
  }

  @Get('multi/:slug')
  @PlatformAdmin()
  @OrgKey('viewer')
  @PartnerKey('orgs:read')
  multi(@CurrentPrincipal() principal: Principal | undefined) {
    return { kind: principal?.kind };
  }

  @Get('workspace/me')
  @WorkspaceToken()
  workspaceMe(@CurrentPrincipal() principal: Principal | undefined) {
    return { principal };
  }

  @Get('undeclared')
  undeclared() {
    return { ok: 'undeclared' };
  }
}

@Module({})
class AuthProbeModule {}

const authProbeService: ServiceDefinition = {
  name: 'api',
  module: (config, logDestination): DynamicModule => ({
    module: AuthProbeModule,
    imports: [CoreModule.forRoot({ config, queues: false, logDestination })],
    controllers: [AuthProbeController],
  }),
  port: (config) => config.ports.api,
};

interface Reply {
  status: number;
  body: Record<string, unknown> & { error?: { status: number; code: string; message: string } };
}

describe('AuthGuard (integration)', () => {
  let db: TestDatabase;
  let redis: ReturnType<typeof createTestRedisPrefix>;
  let app: NestFastifyApplication;
  let orgA: Org;
  let orgB: Org;
  let workspace: Workspace;
  const tokens: Record<string, string> = {};

  /** Sends a request and checks that the response never echoes the credential it carried. */
  async function call(
    method: 'GET' | 'POST',
    url: string,
    token?: string,
    headers: Record<string, string> = {},
  ): Promise<Reply> {
    const response = await app.inject({
      method,
      url,
      headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...headers },
    });
    if (token !== undefined) expect(response.body).not.toContain(token);
    return { status: response.statusCode, body: response.json() };
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    redis = createTestRedisPrefix();
    const config = testConfig('api', db.url, redis.prefix);
    app = await createServiceApp(authProbeService, config, { logDestination: new LogCapture() });

    const ds = db.dataSource;
    orgA = await createOrg(ds);
    orgB = await createOrg(ds);
    workspace = await createWorkspace(ds, orgA.id);
    tokens.viewerA = (await createOrgKey(ds, orgA.id, 'viewer')).token;
    tokens.memberA = (await createOrgKey(ds, orgA.id, 'member')).token;
    tokens.adminA = (await createOrgKey(ds, orgA.id, 'admin')).token;
    tokens.ownerA = (await createOrgKey(ds, orgA.id, 'owner')).token;
    tokens.revokedA = (await createOrgKey(ds, orgA.id, 'owner', { revokedAt: new Date() })).token;
    tokens.expiredA = (
      await createOrgKey(ds, orgA.id, 'owner', { expiresAt: new Date(Date.now() - 60_000) })
    ).token;
    tokens.notYetExpiredA = (
      await createOrgKey(ds, orgA.id, 'viewer', { expiresAt: new Date(Date.now() + 3_600_000) })
    ).token;
    tokens.partnerCreate = (await createPartnerKey(ds, ['orgs:create'])).token;
    tokens.partnerRead = (await createPartnerKey(ds, ['orgs:read'])).token;
    tokens.partnerStatus = (await createPartnerKey(ds, ['provision:status'])).token;
    tokens.session = (await createSessionToken(ds, workspace.id)).token;
    tokens.revokedSession = (
      await createSessionToken(ds, workspace.id, { revokedAt: new Date() })
    ).token;
    tokens.expiredSession = (
      await createSessionToken(ds, workspace.id, { expiresAt: new Date(Date.now() - 60_000) })
    ).token;
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
    await redis?.clear();
  });

  describe('@Public', () => {
    it('is open without a credential', async () => {
      await expect(call('GET', '/open')).resolves.toEqual({ status: 200, body: { ok: 'open' } });
    });

    it('is open to any credential, valid or not', async () => {
      expect((await call('GET', '/open', TEST_ADMIN_TOKEN)).status).toBe(200);
      expect((await call('GET', '/open', tokens.viewerA)).status).toBe(200);
      expect((await call('GET', '/open', 'not-a-real-token')).status).toBe(200);
    });
  });

  describe('missing or malformed credentials', () => {
    it('refuses a protected route without a credential with a 401 envelope', async () => {
      const reply = await call('GET', '/admin');
      expect(reply.status).toBe(401);
      expect(reply.body).toEqual({
        error: expect.objectContaining({ status: 401, code: 'unauthorized' }),
      });
      expect(typeof reply.body.error?.message).toBe('string');
    });

    it.each([
      ['a non-bearer scheme', `Basic ${Buffer.from('admin:pw').toString('base64')}`],
      ['the bare token without a scheme', TEST_ADMIN_TOKEN],
      ['an empty bearer', 'Bearer '],
      ['a bearer with two tokens', `Bearer ${TEST_ADMIN_TOKEN} ${TEST_ADMIN_TOKEN}`],
      ['characters outside the b64token alphabet', `Bearer ${TEST_ADMIN_TOKEN}!`],
    ])('refuses %s with 401', async (_name, authorization) => {
      const response = await app.inject({
        method: 'GET',
        url: '/admin',
        headers: { authorization },
      });
      expect(response.statusCode).toBe(401);
      expect(response.json()).toEqual({
        error: expect.objectContaining({ status: 401, code: 'unauthorized' }),
      });
      expect(response.body).not.toContain(TEST_ADMIN_TOKEN);
    });

    it('refuses a token that merely looks like an org key', async () => {
      const fake = generateToken(TOKEN_PREFIX.orgKey);
      expect(fake.startsWith('mol_ok_')).toBe(true);
      const reply = await call('GET', `/orgs/${orgA.slug}/read`, fake);
      expect(reply.status).toBe(401);
      expect(reply.body.error?.code).toBe('unauthorized');
    });

    it('refuses tokens that look like partner keys or session tokens', async () => {
      expect(
        (await call('POST', '/partner/create', generateToken(TOKEN_PREFIX.partnerKey))).status,
      ).toBe(401);
      expect(
        (await call('GET', '/workspace/me', generateToken(TOKEN_PREFIX.workspaceSession))).status,
      ).toBe(401);
    });

    it('does not accept forged identity headers in place of a token', async () => {
      const forged = { 'x-workspace-id': workspace.id, 'x-molecule-org-id': orgA.id };
      const me = await call('GET', '/workspace/me', undefined, forged);
      expect(me.status).toBe(401);
      expect(me.body.error?.code).toBe('unauthorized');
      expect((await call('GET', `/orgs/${orgA.slug}/read`, undefined, forged)).status).toBe(401);
      expect((await call('GET', `/multi/${orgA.slug}`, undefined, forged)).status).toBe(401);
    });

    it('does not let forged identity headers change who a valid token is', async () => {
      const other = await createWorkspace(db.dataSource, orgB.id);
      const reply = await call('GET', '/workspace/me', tokens.session, {
        'x-workspace-id': other.id,
        'x-molecule-org-id': orgB.id,
      });
      expect(reply.status).toBe(200);
      expect(reply.body.principal).toMatchObject({ workspaceId: workspace.id, orgId: orgA.id });
    });
  });

  describe('@PlatformAdmin', () => {
    it('admits the platform admin token', async () => {
      await expect(call('GET', '/admin', TEST_ADMIN_TOKEN)).resolves.toEqual({
        status: 200,
        body: { ok: 'admin' },
      });
    });

    it('refuses other valid credentials with 403', async () => {
      for (const token of [tokens.ownerA, tokens.partnerCreate, tokens.session]) {
        const reply = await call('GET', '/admin', token);
        expect(reply.status).toBe(403);
        expect(reply.body).toEqual({
          error: expect.objectContaining({ status: 403, code: 'forbidden' }),
        });
      }
    });

    it('refuses a wrong admin token with 401', async () => {
      expect((await call('GET', '/admin', `${TEST_ADMIN_TOKEN}x`)).status).toBe(401);
    });
  });

  describe('@OrgKey', () => {
    it("admits an org key on its own org's slug", async () => {
      await expect(call('GET', `/orgs/${orgA.slug}/read`, tokens.viewerA)).resolves.toEqual({
        status: 200,
        body: { ok: 'read' },
      });
    });

    it("refuses an org key on another org's slug with 403", async () => {
      const reply = await call('GET', `/orgs/${orgB.slug}/read`, tokens.ownerA);
      expect(reply.status).toBe(403);
      expect(reply.body.error).toMatchObject({ status: 403, code: 'forbidden' });
    });

    it('refuses an org key on an unknown slug with 403', async () => {
      expect((await call('GET', '/orgs/no-such-org/read', tokens.ownerA)).status).toBe(403);
    });

    it('refuses an org key on a deleted org with 403', async () => {
      const gone = await createOrg(db.dataSource, { status: 'deleted' });
      const { token } = await createOrgKey(db.dataSource, gone.id, 'owner');
      expect((await call('GET', `/orgs/${gone.slug}/read`, token)).status).toBe(403);
    });

    it.each([
      ['viewer', 403],
      ['member', 403],
      ['admin', 200],
      ['owner', 200],
    ] as const)('answers a %s key with %d on the admin-role route', async (role, status) => {
      const token = tokens[`${role}A`];
      expect((await call('GET', `/orgs/${orgA.slug}/manage`, token)).status).toBe(status);
    });

    it('lets every role through the viewer-role route', async () => {
      for (const role of ['viewer', 'member', 'admin', 'owner']) {
        expect((await call('GET', `/orgs/${orgA.slug}/read`, tokens[`${role}A`])).status).toBe(200);
      }
    });

    it('refuses a revoked key with 401', async () => {
      const reply = await call('GET', `/orgs/${orgA.slug}/read`, tokens.revokedA);
      expect(reply.status).toBe(401);
      expect(reply.body.error?.code).toBe('unauthorized');
    });

    it('refuses an expired key with 401 and admits one that has not expired yet', async () => {
      expect((await call('GET', `/orgs/${orgA.slug}/read`, tokens.expiredA)).status).toBe(401);
      expect((await call('GET', `/orgs/${orgA.slug}/read`, tokens.notYetExpiredA)).status).toBe(
        200,
      );
    });

    it('refuses the platform admin and partner keys on an org-key-only route', async () => {
      expect((await call('GET', `/orgs/${orgA.slug}/read`, TEST_ADMIN_TOKEN)).status).toBe(403);
      expect((await call('GET', `/orgs/${orgA.slug}/read`, tokens.partnerRead)).status).toBe(403);
      expect((await call('GET', `/orgs/${orgA.slug}/read`, tokens.session)).status).toBe(403);
    });
  });

  describe('@PartnerKey', () => {
    it('admits a partner key holding the scope', async () => {
      await expect(call('POST', '/partner/create', tokens.partnerCreate)).resolves.toEqual({
        status: 200,
        body: { ok: 'create' },
      });
    });

    it('refuses a partner key without the scope with 403', async () => {
      const reply = await call('POST', '/partner/create', tokens.partnerRead);
      expect(reply.status).toBe(403);
      expect(reply.body.error).toMatchObject({ status: 403, code: 'forbidden' });
    });

    it('refuses an org owner key with 403', async () => {
      expect((await call('POST', '/partner/create', tokens.ownerA)).status).toBe(403);
    });
  });

  describe('stacked declarations', () => {
    it('admits the platform admin token', async () => {
      await expect(call('GET', `/multi/${orgA.slug}`, TEST_ADMIN_TOKEN)).resolves.toEqual({
        status: 200,
        body: { kind: 'platform-admin' },
      });
    });

    it("admits an org key of the slug's org", async () => {
      await expect(call('GET', `/multi/${orgA.slug}`, tokens.viewerA)).resolves.toEqual({
        status: 200,
        body: { kind: 'org-key' },
      });
    });

    it('admits a partner key with the scope', async () => {
      await expect(call('GET', `/multi/${orgA.slug}`, tokens.partnerRead)).resolves.toEqual({
        status: 200,
        body: { kind: 'partner-key' },
      });
    });

    it('refuses a partner key lacking the scope, and an org key of another org', async () => {
      expect((await call('GET', `/multi/${orgA.slug}`, tokens.partnerStatus)).status).toBe(403);
      expect((await call('GET', `/multi/${orgA.slug}`, tokens.partnerCreate)).status).toBe(403);
      expect((await call('GET', `/multi/${orgB.slug}`, tokens.ownerA)).status).toBe(403);
      expect((await call('GET', `/multi/${orgA.slug}`, tokens.session)).status).toBe(403);
    });

    it('still requires a credential', async () => {
      expect((await call('GET', `/multi/${orgA.slug}`)).status).toBe(401);
    });
  });

  describe('@WorkspaceToken', () => {
    it('admits a session token and names its workspace and org as the principal', async () => {
      const reply = await call('GET', '/workspace/me', tokens.session);
      expect(reply.status).toBe(200);
      expect(reply.body.principal).toEqual({
        kind: 'workspace-token',
        tokenId: expect.any(String),
        workspaceId: workspace.id,
        orgId: orgA.id,
      });
    });

    it('refuses a revoked session token with 401', async () => {
      const reply = await call('GET', '/workspace/me', tokens.revokedSession);
      expect(reply.status).toBe(401);
      expect(reply.body.error?.code).toBe('unauthorized');
    });

    it('refuses an expired session token with 401', async () => {
      expect((await call('GET', '/workspace/me', tokens.expiredSession)).status).toBe(401);
    });

    it('refuses a bootstrap token presented as a session token with 401', async () => {
      const token = generateToken(TOKEN_PREFIX.workspaceSession);
      await db.dataSource.getRepository(WorkspaceTokenRow).save({
        workspaceId: workspace.id,
        kind: WorkspaceTokenKind.Bootstrap,
        tokenHash: hashToken(token),
        displayPrefix: tokenDisplayPrefix(token),
      });
      expect((await call('GET', '/workspace/me', token)).status).toBe(401);
    });

    it('refuses the session token of a workspace being deleted with 401', async () => {
      const doomed = await createWorkspace(db.dataSource, orgA.id);
      const { token } = await createSessionToken(db.dataSource, doomed.id);
      expect((await call('GET', '/workspace/me', token)).status).toBe(200);
      await db.dataSource
        .getRepository(Workspace)
        .update(doomed.id, { status: WorkspaceStatus.Deleting });
      expect((await call('GET', '/workspace/me', token)).status).toBe(401);
    });

    it('refuses other credentials with 403', async () => {
      expect((await call('GET', '/workspace/me', TEST_ADMIN_TOKEN)).status).toBe(403);
      expect((await call('GET', '/workspace/me', tokens.ownerA)).status).toBe(403);
    });
  });

  describe('undeclared routes', () => {
    it('are refused with 403 even for the platform admin', async () => {
      const reply = await call('GET', '/undeclared', TEST_ADMIN_TOKEN);
      expect(reply.status).toBe(403);
      expect(reply.body.error).toMatchObject({ status: 403, code: 'forbidden' });
    });

    it('are refused without a credential', async () => {
      expect((await call('GET', '/undeclared')).status).toBe(403);
    });
  });
});
