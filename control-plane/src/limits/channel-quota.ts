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
  /**
   * By device, then channel: a key of the two joined was a new string per message, flattened and
   * hashed each time (2 % of the control plane's CPU in a 10,000-device fan-out's profile), where
   * the device id's hash is already cached on the string the rate limiter looked up.
   */
  private readonly devices = new Map<string, Map<DeviceChannel, Bucket>>();

  constructor(private readonly quotas: Readonly<Record<DeviceChannel, ChannelQuota>>) {}

  take(deviceId: string, channel: DeviceChannel, bytes: number, nowMs: number): QuotaDecision {
    const quota = this.quotas[channel];
    let channels = this.devices.get(deviceId);
    if (!channels) this.devices.set(deviceId, (channels = new Map()));
    let bucket = channels.get(channel);
    if (bucket) refill(bucket, quota, nowMs);
    else channels.set(channel, (bucket = { messages: quota.messagesPerMinute, bytes: quota.bytesPerMinute, at: nowMs }));
    if (bucket.messages < 1) return { ok: false, exceeded: 'messages' };
    if (bucket.bytes < bytes) return { ok: false, exceeded: 'bytes' };
    bucket.messages -= 1;
    bucket.bytes -= bytes;
    return OK;
  }

  /** Forgets buckets that have refilled; keeps the map as large as the devices active within the last minute. */
  sweep(nowMs: number): void {
    for (const [deviceId, channels] of this.devices) {
      for (const [channel, bucket] of channels) {
        const quota = this.quotas[channel];
        refill(bucket, quota, nowMs);
        if (bucket.messages >= quota.messagesPerMinute && bucket.bytes >= quota.bytesPerMinute) channels.delete(channel);
      }
      if (channels.size === 0) this.devices.delete(deviceId);
    }
  }

  /** Devices holding a bucket not yet refilled (or not yet swept). */
  get size(): number {
    return this.devices.size;
  }
}

function refill(bucket: Bucket, quota: ChannelQuota, nowMs: number): void {
  const minutes = Math.max(0, nowMs - bucket.at) / 60_000;
  bucket.messages = Math.min(quota.messagesPerMinute, bucket.messages + minutes * quota.messagesPerMinute);
  bucket.bytes = Math.min(quota.bytesPerMinute, bucket.bytes + minutes * quota.bytesPerMinute);
  bucket.at = nowMs;
}
