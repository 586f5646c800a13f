import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { managerOf, unitOfWork, type UnitOfWork } from '../database/unit-of-work';
import { ProvisioningTokenEntity } from './provisioning-token.entity';

export interface NewProvisioningToken {
  id: string;
  tokenHash: string;
  maxUses: number;
  expiresInSeconds: number;
  fleetId: string | null;
  createdByAdmin: boolean;
}

/** Why a token gives no use. */
export type TokenRefusal = { status: 'unknown' | 'expired' | 'exhausted' | 'revoked' };
/** What a use of the token gives the device. */
export interface TokenUse {
  fleetId: string | null;
  createdByAdmin: boolean;
}

export type ConsumeOutcome = ({ status: 'consumed' } & TokenUse) | TokenRefusal;
export type TokenStanding = ({ status: 'usable' } & TokenUse) | TokenRefusal;

/** The only code that reads or writes `provisioning_tokens`. */
@Injectable()
export class ProvisioningTokenRepository {
  constructor(@InjectRepository(ProvisioningTokenEntity) private readonly tokens: Repository<ProvisioningTokenEntity>) {}

  /** Expiry is computed by the database clock, the same clock `consume` compares against. */
  async create(token: NewProvisioningToken): Promise<ProvisioningTokenEntity> {
    await this.tokens.insert({
      id: token.id,
      tokenHash: token.tokenHash,
      maxUses: token.maxUses,
      uses: 0,
      fleetId: token.fleetId,
      createdByAdmin: token.createdByAdmin,
      expiresAt: () => `now() + make_interval(secs => ${Math.trunc(token.expiresInSeconds)})`,
    });
    return (await this.tokens.findOneBy({ id: token.id }))!;
  }

  /** `work` in one transaction: all it writes commits together, or nothing does. */
  transaction<T>(work: (uow: UnitOfWork) => Promise<T>): Promise<T> {
    return this.tokens.manager.transaction((em) => work(unitOfWork(em)));
  }

  /**
   * Whether the token has a use left, and what a use gives, without taking one (nothing locked):
   * a registration reads it first, prepares its device, then takes the use last (`consume`).
   */
  async standing(tokenHash: string): Promise<TokenStanding> {
    const [row] = (await this.tokens.query(
      `SELECT fleet_id, created_by_admin FROM provisioning_tokens
        WHERE token_hash = $1 AND uses < max_uses AND expires_at > now() AND revoked_at IS NULL`,
      [tokenHash],
    )) as { fleet_id: string | null; created_by_admin: boolean }[];
    if (row) return { status: 'usable', fleetId: row.fleet_id, createdByAdmin: row.created_by_admin };
    return this.refusal(tokenHash);
  }

  /**
   * Takes one use of the token inside `uow`. The check and the increment are one UPDATE, so
   * however many registrations race, a token is never used more than `max_uses` times, nor after
   * revocation; the row stays locked until `uow` ends, so it is the last statement of a registration.
   */
  async consume(uow: UnitOfWork, tokenHash: string): Promise<ConsumeOutcome> {
    const [rows] = (await managerOf(uow).query(
      `UPDATE provisioning_tokens SET uses = uses + 1
        WHERE token_hash = $1 AND uses < max_uses AND expires_at > now() AND revoked_at IS NULL
        RETURNING id, fleet_id, created_by_admin`,
      [tokenHash],
    )) as [{ fleet_id: string | null; created_by_admin: boolean }[], number];
    const consumed = rows[0];
    if (consumed) return { status: 'consumed', fleetId: consumed.fleet_id, createdByAdmin: consumed.created_by_admin };
    return this.refusal(tokenHash);
  }

  /** Only to tell the caller why; the decision was already made atomically. */
  private async refusal(tokenHash: string): Promise<TokenRefusal> {
    const row = await this.tokens
      .createQueryBuilder('t')
      .select([
        't.id AS id',
        't.uses >= t.max_uses AS exhausted',
        't.expires_at <= now() AS expired',
        't.revoked_at IS NOT NULL AS revoked',
      ])
      .where('t.token_hash = :tokenHash', { tokenHash })
      .getRawOne<{ id: string; exhausted: boolean; expired: boolean; revoked: boolean }>();
    if (!row) return { status: 'unknown' };
    return { status: row.revoked ? 'revoked' : row.expired ? 'expired' : 'exhausted' };
  }

  /** Revokes once; the first revocation time is kept. Undefined for an unknown token. */
  async revoke(id: string): Promise<ProvisioningTokenEntity | undefined> {
    await this.tokens
      .createQueryBuilder()
      .update()
      .set({ revokedAt: () => 'now()' })
      .where('id = :id AND revoked_at IS NULL', { id })
      .execute();
    return (await this.tokens.findOneBy({ id })) ?? undefined;
  }
}
