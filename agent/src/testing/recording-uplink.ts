import type { ChannelPayload, DeviceChannel } from '@flotilla/shared';
import type { Uplink } from '../agent-deps';

/** An uplink that keeps what the agent sends, for tests that read the agent's messages back. */
export class RecordingUplink implements Uplink {
  connected = true;
  readonly sent: { channel: DeviceChannel; value: Record<string, unknown> }[] = [];

  publish<C extends DeviceChannel>(channel: C, value: ChannelPayload<C>): void {
    this.sent.push({ channel, value: value as Record<string, unknown> });
  }

  of(channel: DeviceChannel): Record<string, unknown>[] {
    return this.sent.filter((s) => s.channel === channel).map((s) => s.value);
  }

  events(kind: string): Record<string, unknown>[] {
    return this.of('events').filter((e) => e.kind === kind);
  }
}
