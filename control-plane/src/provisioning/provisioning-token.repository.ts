import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { ProvisioningTokenEntity } from './provisioning-token.entity';

export interface NewProvisioningToken {
  id: string;
  tokenHash: string;
  maxUses: number;
  expiresInSeconds: number;
  fleetId: string | null;
  createdByAdmin: boolean;
}

export type ConsumeOutcome =
  { status: 'consumed'; fleetId: string | null; createdByAdmin: boolean } | { status: 'unknown' | 'expired' | 'exhausted' | 'revoked' };

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

  /**
   * Takes one use of the token. The check and the increment are one UPDATE, so however many
   * registrations race, a token is never used more than `max_uses` times, nor after revocation.
   */
  async consume(tokenHash: string): Promise<ConsumeOutcome> {
    const [rows] = (await this.tokens.query(
      `UPDATE provisioning_tokens SET uses = uses + 1
        WHERE token_hash = $1 AND uses < max_uses AND expires_at > now() AND revoked_at IS NULL
        RETURNING id, fleet_id, created_by_admin`,
      [tokenHash],
    )) as [{ fleet_id: string | null; created_by_admin: boolean }[], number];
    const consumed = rows[0];
    if (consumed) return { status: 'consumed', fleetId: consumed.fleet_id, createdByAdmin: consumed.created_by_admin };
    // Only to tell the caller why; the decision above was already atomic.
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
