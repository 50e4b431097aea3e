import { Injectable, UnprocessableEntityException } from '@nestjs/common';
import { canonicalJson } from '@molecule/audit';
import { EnvelopeCipher, hashToken } from '@molecule/crypto';
import { IdempotencyRecord } from '@molecule/database';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';

/** A stored response, with its one-time secret (if any) decrypted again for the replay. */
export interface Replay {
  status: number;
  response: Record<string, unknown>;
  secret?: string;
}

const KEY_PATTERN = /^[A-Za-z0-9._:-]{1,200}$/;

/**
 * `Idempotency-Key` support: the first request's response is stored in the same transaction as
 * its effects; a retry with the same key and body gets that response back, and the same key
 * with a different body is refused. Keys are scoped to the caller.
 */
@Injectable()
export class IdempotencyService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly cipher: EnvelopeCipher,
  ) {}

  validateKey(key: string | undefined): string | undefined {
    if (key === undefined) return undefined;
    if (!KEY_PATTERN.test(key)) {
      throw new UnprocessableEntityException(
        'Idempotency-Key must be 1–200 characters of letters, digits and ._:-',
      );
    }
    return key;
  }

  async find(scope: string, key: string, body: unknown): Promise<Replay | undefined> {
    const record = await this.dataSource.getRepository(IdempotencyRecord).findOneBy({ scope, key });
    if (!record) return undefined;
    if (record.requestHash !== hashToken(canonicalJson(body))) {
      throw new UnprocessableEntityException(
        'This Idempotency-Key was used with a different request body',
      );
    }
    const secret =
      record.secretCiphertext && record.orgId
        ? await this.cipher.decryptString(record.orgId, record.secretCiphertext)
        : undefined;
    return { status: record.status, response: record.response, secret };
  }

  /**
   * Claims the key inside the caller's transaction, before any other write: a concurrent request
   * with the same key blocks on the unique index and, once this one commits, replays it.
   */
  async claim(manager: EntityManager, scope: string, key: string, body: unknown): Promise<string> {
    const record = await manager.save(IdempotencyRecord, {
      scope,
      key,
      requestHash: hashToken(canonicalJson(body)),
      status: 0,
      response: {},
    });
    return record.id;
  }

  async complete(
    manager: EntityManager,
    id: string,
    result: { status: number; response: Record<string, unknown>; orgId: string; secret?: string },
  ): Promise<void> {
    await manager.save(IdempotencyRecord, {
      id,
      status: result.status,
      response: result.response,
      orgId: result.orgId,
      secretCiphertext: result.secret
        ? await this.cipher.encrypt(result.orgId, result.secret)
        : null,
    });
  }

  static isDuplicateKey(error: unknown): boolean {
    const e = error as {
      code?: string;
      constraint?: string;
      driverError?: { constraint?: string };
    };
    return (
      e.code === '23505' &&
      (e.constraint ?? e.driverError?.constraint) === 'uq_idempotency_records_key'
    );
  }
}
