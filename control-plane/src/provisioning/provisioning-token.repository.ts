import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { ProvisioningTokenEntity } from './provisioning-token.entity';

export interface NewProvisioningToken {
  id: string;
  tokenHash: string;
  maxUses: number;
  expiresInSeconds: number;
}

export type ConsumeOutcome = 'consumed' | 'unknown' | 'expired' | 'exhausted';

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
      expiresAt: () => `now() + make_interval(secs => ${Math.trunc(token.expiresInSeconds)})`,
    });
    return (await this.tokens.findOneBy({ id: token.id }))!;
  }

  /**
   * Takes one use of the token. The check and the increment are one UPDATE, so however many
   * registrations race, a token is never used more than `max_uses` times.
   */
  async consume(tokenHash: string): Promise<ConsumeOutcome> {
    const result = await this.tokens
      .createQueryBuilder()
      .update()
      .set({ uses: () => 'uses + 1' })
      .where('token_hash = :tokenHash', { tokenHash })
      .andWhere('uses < max_uses')
      .andWhere('expires_at > now()')
      .returning('id')
      .execute();
    if ((result.raw as unknown[]).length > 0) return 'consumed';
    // Only to tell the caller why; the decision above was already atomic.
    const row = await this.tokens
      .createQueryBuilder('t')
      .select(['t.id AS id', 't.uses >= t.max_uses AS exhausted', 't.expires_at <= now() AS expired'])
      .where('t.token_hash = :tokenHash', { tokenHash })
      .getRawOne<{ id: string; exhausted: boolean; expired: boolean }>();
    if (!row) return 'unknown';
    return row.expired ? 'expired' : 'exhausted';
  }
}
