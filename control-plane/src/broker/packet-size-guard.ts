/**
 * Watches an MQTT byte stream and reports a packet whose declared size exceeds a limit as
 * soon as its fixed header is read. aedes' parser buffers a whole packet (up to 256 MB, the
 * protocol's maximum) before any hook sees it; this lets the broker close the connection
 * after a few bytes instead. Pure: fed chunks, keeps only the header state.
 *
 * The first packet, which must be CONNECT, has a limit of its own: it comes before the login,
 * and a legitimate one is a few hundred bytes (ids, password, the status will), so a client
 * that has proven nothing may make the broker buffer only that much.
 *
 * Fixed header [MQTT-2.2]: one byte of type and flags, then the remaining length as a
 * variable byte integer of 1 to 4 bytes, 7 bits each, low bits first [MQTT-2.2.3].
 */
export type GuardVerdict = { ok: true } | { ok: false; reason: string; kind: 'oversized' | 'control-packets' };

/** Told of each packet as its fixed header is read (ControlPacketBudget); a reason refuses it. */
export interface PacketWatcher {
  started(type: number): string | undefined;
  sized(type: number, remainingLength: number): string | undefined;
}

export class PacketSizeGuard {
  private state: 'type' | 'length' | 'body' = 'type';
  private length = 0;
  private lengthBytes = 0;
  private remaining = 0;
  private limit: number;
  private type = 0;

  constructor(
    private readonly maxRemainingLength: number,
    maxFirstRemainingLength = maxRemainingLength,
    private readonly watcher?: PacketWatcher,
  ) {
    this.limit = maxFirstRemainingLength;
  }

  feed(chunk: Uint8Array): GuardVerdict {
    let i = 0;
    while (i < chunk.length) {
      if (this.state === 'type') {
        this.type = chunk[i++]! >> 4;
        const refused = this.watcher?.started(this.type);
        if (refused) return { ok: false, reason: refused, kind: 'control-packets' };
        this.state = 'length';
        this.length = 0;
        this.lengthBytes = 0;
      } else if (this.state === 'length') {
        const byte = chunk[i++]!;
        this.length += (byte & 0x7f) * 128 ** this.lengthBytes;
        this.lengthBytes++;
        if (this.length > this.limit) {
          return { ok: false, reason: `packet of at least ${this.length} bytes exceeds ${this.limit}`, kind: 'oversized' };
        }
        if ((byte & 0x80) === 0) {
          const refused = this.watcher?.sized(this.type, this.length);
          if (refused) return { ok: false, reason: refused, kind: 'control-packets' };
          this.limit = this.maxRemainingLength;
          this.remaining = this.length;
          this.state = this.remaining > 0 ? 'body' : 'type';
        } else if (this.lengthBytes === 4) {
          return { ok: false, reason: 'malformed remaining length (more than 4 bytes)', kind: 'oversized' };
        }
      } else {
        const take = Math.min(this.remaining, chunk.length - i);
        i += take;
        this.remaining -= take;
        if (this.remaining === 0) this.state = 'type';
      }
    }
    return { ok: true };
  }
}
