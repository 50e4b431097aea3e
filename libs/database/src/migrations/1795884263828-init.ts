import type { MigrationInterface, QueryRunner } from 'typeorm';
import { PG_ENUMS } from '../enums';

/** Enum types are created from the definitions in code, the single source of their values. */
function createEnum(runner: QueryRunner, name: keyof typeof PG_ENUMS): Promise<unknown> {
  const values = Object.values(PG_ENUMS[name]).map((value) => `'${value}'`);
  return runner.query(`CREATE TYPE "public"."${name}" AS ENUM(${values.join(', ')})`);
}

export class Init1795884263828 implements MigrationInterface {
  name = 'Init1795884263828';

  async up(runner: QueryRunner): Promise<void> {
    await createEnum(runner, 'org_status');
    await runner.query(
      'CREATE TABLE "orgs" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "slug" character varying(32) NOT NULL, "name" character varying(200) NOT NULL, "region" character varying(64), "status" "public"."org_status" NOT NULL DEFAULT \'pending\', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "deleted_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_9eed8bfad4c9e0dc8648e090efe" PRIMARY KEY ("id"))',
    );
    await runner.query(
      'CREATE UNIQUE INDEX "uq_orgs_slug_live" ON "orgs"  ("slug") WHERE "status" <> \'deleted\'',
    );
    await createEnum(runner, 'api_key_kind');
    await createEnum(runner, 'org_role');
    await runner.query(
      'CREATE TABLE "api_keys" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "kind" "public"."api_key_kind" NOT NULL, "org_id" uuid, "role" "public"."org_role", "scopes" text array NOT NULL DEFAULT \'{}\', "name" character varying(100) NOT NULL, "token_hash" character(64) NOT NULL, "display_prefix" character varying(32) NOT NULL, "expires_at" TIMESTAMP WITH TIME ZONE, "last_used_at" TIMESTAMP WITH TIME ZONE, "revoked_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_5c8a79801b44bd27b79228e1dad" PRIMARY KEY ("id"))',
    );
    await runner.query('CREATE INDEX "ix_api_keys_org" ON "api_keys"  ("org_id") ');
    await runner.query('CREATE UNIQUE INDEX "uq_api_keys_hash" ON "api_keys"  ("token_hash") ');
    await runner.query(
      'CREATE TABLE "audit_events" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "chain" character varying(64) NOT NULL, "seq" bigint NOT NULL, "actor" character varying(200) NOT NULL, "action" character varying(100) NOT NULL, "target" character varying(200) NOT NULL, "data" jsonb NOT NULL DEFAULT \'{}\', "prev_hash" character(64), "hash" character(64) NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_910f64d901a5c3e9878f0d4a407" PRIMARY KEY ("id"))',
    );
    await runner.query(
      'CREATE UNIQUE INDEX "uq_audit_events_chain" ON "audit_events"  ("chain", "seq") ',
    );
    await createEnum(runner, 'memory_scope');
    await createEnum(runner, 'approval_state');
    await runner.query(
      'CREATE TABLE "memories" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "org_id" uuid NOT NULL, "author_workspace_id" uuid, "scope" "public"."memory_scope" NOT NULL, "namespace" character varying(100) NOT NULL DEFAULT \'default\', "content" text NOT NULL, "content_hash" character(64) NOT NULL, "provenance" jsonb NOT NULL DEFAULT \'{}\', "approval_state" "public"."approval_state" NOT NULL DEFAULT \'not_required\', "decided_by" character varying(100), "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_aaa0692d9496fe827b0568612f8" PRIMARY KEY ("id"))',
    );
    await runner.query('CREATE INDEX "ix_memories_org_scope" ON "memories"  ("org_id", "scope") ');
    await createEnum(runner, 'resource_type');
    await createEnum(runner, 'operation_status');
    await runner.query(
      'CREATE TABLE "operations" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "resource_type" "public"."resource_type" NOT NULL, "resource_id" uuid NOT NULL, "org_id" uuid, "kind" character varying(64) NOT NULL, "status" "public"."operation_status" NOT NULL DEFAULT \'queued\', "attempts" integer NOT NULL DEFAULT \'0\', "steps" jsonb NOT NULL DEFAULT \'[]\', "error" text, "idempotency_key" character varying(200), "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "finished_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_7b62d84d6f9912b975987165856" PRIMARY KEY ("id"))',
    );
    await runner.query(
      'CREATE UNIQUE INDEX "uq_operations_idempotency_key" ON "operations"  ("idempotency_key") ',
    );
    await runner.query(
      'CREATE UNIQUE INDEX "uq_operations_unfinished" ON "operations"  ("resource_type", "resource_id") WHERE "status" IN (\'queued\', \'running\')',
    );
    await runner.query(
      'CREATE TABLE "org_data_keys" ("org_id" uuid NOT NULL, "version" integer NOT NULL, "master_key_id" character varying(64) NOT NULL, "wrapped_key" bytea NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "retired_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_69a810a94d244263123a389e174" PRIMARY KEY ("org_id", "version"))',
    );
    await createEnum(runner, 'workspace_status');
    await runner.query(
      'CREATE TABLE "workspaces" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "org_id" uuid NOT NULL, "parent_id" uuid, "name" character varying(100) NOT NULL, "runtime" character varying(100) NOT NULL, "template" character varying(100), "tier" character varying(32) NOT NULL DEFAULT \'standard\', "status" "public"."workspace_status" NOT NULL DEFAULT \'pending\', "provider_instance_id" character varying(128), "address" character varying(255), "agent_card" jsonb, "last_heartbeat_at" TIMESTAMP WITH TIME ZONE, "boot_stage" character varying(64), "last_error" text, "provision_started_at" TIMESTAMP WITH TIME ZONE, "booted_at" TIMESTAMP WITH TIME ZONE, "online_at" TIMESTAMP WITH TIME ZONE, "budget_cents" bigint, "spent_cents" bigint NOT NULL DEFAULT \'0\', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "deleted_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_098656ae401f3e1a4586f47fd8e" PRIMARY KEY ("id"))',
    );
    await runner.query('CREATE INDEX "ix_workspaces_parent" ON "workspaces"  ("parent_id") ');
    await runner.query('CREATE INDEX "ix_workspaces_org" ON "workspaces"  ("org_id") ');
    await runner.query(
      'CREATE TABLE "secrets" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "org_id" uuid NOT NULL, "workspace_id" uuid, "name" character varying(128) NOT NULL, "ciphertext" text NOT NULL, "key_version" integer NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_d4ff48ddba1883d4dc142b9c697" PRIMARY KEY ("id"))',
    );
    await runner.query(
      'CREATE UNIQUE INDEX "uq_secrets_workspace_name" ON "secrets"  ("org_id", "workspace_id", "name") WHERE "workspace_id" IS NOT NULL',
    );
    await runner.query(
      'CREATE UNIQUE INDEX "uq_secrets_org_name" ON "secrets"  ("org_id", "name") WHERE "workspace_id" IS NULL',
    );
    await createEnum(runner, 'compute_provider');
    await createEnum(runner, 'instance_status');
    await runner.query(
      'CREATE TABLE "tenant_instances" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "org_id" uuid NOT NULL, "provider" "public"."compute_provider" NOT NULL, "provider_instance_id" character varying(128), "region" character varying(64), "private_address" character varying(255), "public_address" character varying(255), "port" integer, "status" "public"."instance_status" NOT NULL DEFAULT \'pending\', "image" character varying(512), "image_digest" character varying(128), "admin_token_ciphertext" text, "tls_fingerprint" character varying(128), "route_generation" integer NOT NULL DEFAULT \'0\', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "terminated_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_8d534653084265eb7d9e8e73673" PRIMARY KEY ("id"))',
    );
    await runner.query('CREATE INDEX "ix_tenant_instances_org" ON "tenant_instances"  ("org_id") ');
    await createEnum(runner, 'workspace_token_kind');
    await runner.query(
      'CREATE TABLE "workspace_tokens" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "workspace_id" uuid NOT NULL, "kind" "public"."workspace_token_kind" NOT NULL, "token_hash" character(64) NOT NULL, "display_prefix" character varying(32) NOT NULL, "operation_id" uuid, "expires_at" TIMESTAMP WITH TIME ZONE, "used_at" TIMESTAMP WITH TIME ZONE, "revoked_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_bba8aa434c55d4a79f04d67e703" PRIMARY KEY ("id"))',
    );
    await runner.query(
      'CREATE INDEX "ix_workspace_tokens_workspace" ON "workspace_tokens"  ("workspace_id") ',
    );
    await runner.query(
      'CREATE UNIQUE INDEX "uq_workspace_tokens_hash" ON "workspace_tokens"  ("token_hash") ',
    );
    await runner.query(
      'ALTER TABLE "api_keys" ADD CONSTRAINT "FK_ba7f5748f500d24aa18041d0439" FOREIGN KEY ("org_id") REFERENCES "orgs"("id") ON DELETE RESTRICT ON UPDATE NO ACTION',
    );
    await runner.query(
      'ALTER TABLE "memories" ADD CONSTRAINT "FK_2e1fcdae0e5ab14036130884ec4" FOREIGN KEY ("org_id") REFERENCES "orgs"("id") ON DELETE RESTRICT ON UPDATE NO ACTION',
    );
    await runner.query(
      'ALTER TABLE "workspaces" ADD CONSTRAINT "FK_079a6e0f4cecb006adc1c8ad00d" FOREIGN KEY ("org_id") REFERENCES "orgs"("id") ON DELETE RESTRICT ON UPDATE NO ACTION',
    );
    await runner.query(
      'ALTER TABLE "workspaces" ADD CONSTRAINT "FK_103b7b2e8e5a5b214f8c548848c" FOREIGN KEY ("parent_id") REFERENCES "workspaces"("id") ON DELETE RESTRICT ON UPDATE NO ACTION',
    );
    await runner.query(
      'ALTER TABLE "secrets" ADD CONSTRAINT "FK_191bb48ff0bf860824826f3fecb" FOREIGN KEY ("org_id") REFERENCES "orgs"("id") ON DELETE RESTRICT ON UPDATE NO ACTION',
    );
    await runner.query(
      'ALTER TABLE "secrets" ADD CONSTRAINT "FK_c54b00b10dc99df622c28a263f5" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE NO ACTION',
    );
    await runner.query(
      'ALTER TABLE "tenant_instances" ADD CONSTRAINT "FK_a193077f2b4103adf1466da42d7" FOREIGN KEY ("org_id") REFERENCES "orgs"("id") ON DELETE RESTRICT ON UPDATE NO ACTION',
    );
    await runner.query(
      'ALTER TABLE "workspace_tokens" ADD CONSTRAINT "FK_55ec97772841048444aa47170ed" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE NO ACTION',
    );
  }

  async down(): Promise<void> {
    throw new Error('Init1795884263828 is forward-only');
  }
}
