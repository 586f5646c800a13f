import type { DeviceChannel } from '@flotilla/shared';
import type { ChannelQuota } from './device-limits';

/** Devices whose excess is remembered per interval; beyond, only the counters on `/metrics` see it. */
const MAX_DEVICES = 10_000;

export interface ExcessReport {
  deviceId: string;
  message: string;
}

/**
 * What each device had dropped over its quotas since the last report, for one event per device
 * and interval in its own history (so an operator looking at the device sees why data is
 * missing) rather than a row per dropped message. Pure.
 */
export class QuotaExcess {
  private readonly byDevice = new Map<string, Map<DeviceChannel, { messages: number; bytes: number }>>();

  constructor(private readonly quotas: Readonly<Record<DeviceChannel, ChannelQuota>>) {}

  add(deviceId: string, channel: DeviceChannel, exceeded: 'messages' | 'bytes'): void {
    let channels = this.byDevice.get(deviceId);
    if (!channels) {
      if (this.byDevice.size >= MAX_DEVICES) return;
      channels = new Map();
      this.byDevice.set(deviceId, channels);
    }
    const counts = channels.get(channel) ?? { messages: 0, bytes: 0 };
    counts[exceeded]++;
    channels.set(channel, counts);
  }

  /** One report per device with drops since the last call; starts over. */
  take(): ExcessReport[] {
    const reports = [...this.byDevice].map(([deviceId, channels]) => ({
      deviceId,
      message: [...channels]
        .map(([channel, c]) => {
          const q = this.quotas[channel];
          return `dropped ${c.messages + c.bytes} ${channel} messages over the quota of ${q.messagesPerMinute} messages and ${q.bytesPerMinute} bytes a minute`;
        })
        .join('; '),
    }));
    this.byDevice.clear();
    return reports;
  }
}
