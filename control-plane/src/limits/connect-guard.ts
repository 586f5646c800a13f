import { AddressCounts } from './address-counts';
import type { DeviceLimits } from './device-limits';

export type ConnectGuardLimits = Pick<
  DeviceLimits,
  'maxConnectionsPerAddress' | 'failedConnectsPerSecond' | 'failedConnectsBurst' | 'unknownIdCacheMs'
>;

/** Why a login was refused before (or instead of) a database query. */
export type PrecheckRefusal = 'throttled' | 'unknown-id';

interface FailureBucket {
  tokens: number;
  at: number;
}

/** Unknown ids remembered at most; beyond, the oldest go first (a flood of random ids cannot grow it). */
const MAX_UNKNOWN_IDS = 10_000;

/**
 * Per-source-address connection accounting for the MQTT listener, and the cheap checks that
 * come before a credential lookup:
 * - open connections per address are capped;
 * - failed logins per address are a token bucket (`failedConnectsBurst`, refilled at
 *   `failedConnectsPerSecond`): an address without a token is refused without a query;
 * - an id the database did not know is remembered for `unknownIdCacheMs`.
 * Only unknown ids are remembered, never a wrong password: otherwise anyone could lock a
 * real device out by trying its id. (Ids are chosen by the control plane at registration, so
 * none is tried before it exists.) Pure: the clock is passed in.
 */
export class ConnectGuard {
  private readonly open: AddressCounts;
  private readonly failures = new Map<string, FailureBucket>();
  private readonly unknownIds = new Map<string, number>();

  constructor(private readonly limits: ConnectGuardLimits) {
    this.open = new AddressCounts(limits.maxConnectionsPerAddress);
  }

  /** A new connection from `address`; false when the address already has its maximum open. */
  opened(address: string): boolean {
    return this.open.take(address);
  }

  /** Pairs with an `opened` that returned true. */
  closed(address: string): void {
    this.open.give(address);
  }

  precheck(deviceId: string, address: string, nowMs: number): PrecheckRefusal | undefined {
    const bucket = this.failures.get(address);
    if (bucket && this.refill(bucket, nowMs).tokens < 1) return 'throttled';
    const until = this.unknownIds.get(deviceId);
    if (until !== undefined) {
      if (until > nowMs) return 'unknown-id';
      this.unknownIds.delete(deviceId);
    }
    return undefined;
  }

  /** A login from `address` failed; `unknownId` when the database has no such device. */
  failed(address: string, nowMs: number, unknownId?: string): void {
    const bucket = this.refill(this.failures.get(address) ?? { tokens: this.limits.failedConnectsBurst, at: nowMs }, nowMs);
    bucket.tokens = Math.max(0, bucket.tokens - 1);
    this.failures.set(address, bucket);
    if (unknownId !== undefined && this.limits.unknownIdCacheMs > 0) {
      this.unknownIds.delete(unknownId);
      this.unknownIds.set(unknownId, nowMs + this.limits.unknownIdCacheMs);
      if (this.unknownIds.size > MAX_UNKNOWN_IDS) this.unknownIds.delete(this.unknownIds.keys().next().value!);
    }
  }

  /** Drops state that has returned to its default (refilled buckets, expired ids). */
  sweep(nowMs: number): void {
    for (const [address, bucket] of this.failures) {
      if (this.refill(bucket, nowMs).tokens >= this.limits.failedConnectsBurst) this.failures.delete(address);
    }
    for (const [id, until] of this.unknownIds) if (until <= nowMs) this.unknownIds.delete(id);
  }

  get tracked(): { addresses: number; failingAddresses: number; unknownIds: number } {
    return { addresses: this.open.size, failingAddresses: this.failures.size, unknownIds: this.unknownIds.size };
  }

  private refill(bucket: FailureBucket, nowMs: number): FailureBucket {
    const seconds = Math.max(0, nowMs - bucket.at) / 1000;
    bucket.tokens = Math.min(this.limits.failedConnectsBurst, bucket.tokens + seconds * this.limits.failedConnectsPerSecond);
    bucket.at = nowMs;
    return bucket;
  }
}
