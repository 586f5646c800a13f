import type { DeviceChannel } from '@flotilla/shared';
import type { ChannelQuota } from './device-limits';

export type QuotaDecision = { ok: true } | { ok: false; exceeded: 'messages' | 'bytes' };

interface Bucket {
  messages: number;
  bytes: number;
  at: number;
}

const OK: QuotaDecision = { ok: true };

/**
 * Messages and bytes per minute, per device and channel: two token buckets that hold one
 * minute's worth and refill continuously. A message that finds either bucket short is refused
 * whole (and takes nothing). Pure: the clock is passed in.
 *
 * Buckets are not forgotten on disconnect (a device could reset its quota by reconnecting);
 * `sweep` drops the full ones instead, which is the same as never having seen them.
 */
export class ChannelQuotas {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly quotas: Readonly<Record<DeviceChannel, ChannelQuota>>) {}

  take(deviceId: string, channel: DeviceChannel, bytes: number, nowMs: number): QuotaDecision {
    const quota = this.quotas[channel];
    const key = `${deviceId} ${channel}`;
    let bucket = this.buckets.get(key);
    if (bucket) refill(bucket, quota, nowMs);
    else this.buckets.set(key, (bucket = { messages: quota.messagesPerMinute, bytes: quota.bytesPerMinute, at: nowMs }));
    if (bucket.messages < 1) return { ok: false, exceeded: 'messages' };
    if (bucket.bytes < bytes) return { ok: false, exceeded: 'bytes' };
    bucket.messages -= 1;
    bucket.bytes -= bytes;
    return OK;
  }

  /** Forgets buckets that have refilled; keeps the map as large as the devices active within the last minute. */
  sweep(nowMs: number): void {
    for (const [key, bucket] of this.buckets) {
      const quota = this.quotas[key.slice(key.indexOf(' ') + 1) as DeviceChannel];
      const b = refill(bucket, quota, nowMs);
      if (b.messages >= quota.messagesPerMinute && b.bytes >= quota.bytesPerMinute) this.buckets.delete(key);
    }
  }

  get size(): number {
    return this.buckets.size;
  }
}

function refill(bucket: Bucket, quota: ChannelQuota, nowMs: number): Bucket {
  const minutes = Math.max(0, nowMs - bucket.at) / 60_000;
  bucket.messages = Math.min(quota.messagesPerMinute, bucket.messages + minutes * quota.messagesPerMinute);
  bucket.bytes = Math.min(quota.bytesPerMinute, bucket.bytes + minutes * quota.bytesPerMinute);
  bucket.at = nowMs;
  return bucket;
}
