import { PROTOCOL_SCHEMA, type DesiredStatement, type ReleaseSignature, type SignedDesired } from '@flotilla/shared';

/** What a desired state holds for one device before sealing (the mapper's `desiredContent`). */
export type DesiredContent = Omit<DesiredStatement, 'schema' | 'issuedAt' | 'expiresAt' | 'keyEndorsements' | 'revokedKeys'>;

/** A sealed desired state, with the exact bytes of its `desired` message (what `encodePayload` would give). */
export interface SealedDesired {
  envelope: SignedDesired;
  bytes: Buffer;
}

/** JSON text of a part, as is and as escaped inside a JSON string: concatenating escaped parts escapes their concatenation. */
interface Text {
  raw: string;
  escaped: string;
}

const text = (raw: string): Text => ({ raw, escaped: JSON.stringify(raw).slice(1, -1) });

/**
 * Seals many desired states at once (one fan-out): each device's statement is distinct (its id and
 * rev are signed, so a device cannot replay another's), but most of its bytes are shared — the
 * release, the key chain, the issue and expiry times. Those parts are serialised, and escaped for
 * the envelope, once per distinct object; per device only the small rest is, plus one signature.
 * The text is what `sealDesired` of @flotilla/shared would sign, up to key order, which the
 * signature covers as it stands (desired-signing.ts: the exact text is signed, not canonical JSON).
 */
export class DesiredSealer {
  private readonly parts = new WeakMap<object, Text>();
  private readonly tail: Text;

  constructor(
    private readonly sign: (payload: string) => ReleaseSignature,
    shared: Pick<DesiredStatement, 'issuedAt' | 'expiresAt' | 'keyEndorsements' | 'revokedKeys'>,
    private readonly maxPayloadBytes: number,
  ) {
    // `,"issuedAt":…}`: the statement's shared end, after the per-device fields.
    this.tail = text(`,${JSON.stringify(shared).slice(1)}`);
  }

  seal(content: DesiredContent): SealedDesired {
    const { release, ...own } = content;
    const head = text(`${JSON.stringify({ schema: PROTOCOL_SCHEMA, ...own }).slice(0, -1)},"release":`);
    const body = release === null ? text('null') : this.part(release);
    const payload = head.raw + body.raw + this.tail.raw;
    if (Buffer.byteLength(payload) > this.maxPayloadBytes) {
      throw new Error(
        `desired state of ${content.deviceId} is ${Buffer.byteLength(payload)} bytes, over the ${this.maxPayloadBytes}-byte message limit`,
      );
    }
    const signature = this.sign(payload);
    const escaped = head.escaped + body.escaped + this.tail.escaped;
    const bytes = Buffer.from(`{"schema":${PROTOCOL_SCHEMA},"payload":"${escaped}","signature":${JSON.stringify(signature)}}`);
    return { envelope: { schema: PROTOCOL_SCHEMA, payload, signature }, bytes };
  }

  private part(value: object): Text {
    let t = this.parts.get(value);
    if (!t) {
      t = text(JSON.stringify(value));
      this.parts.set(value, t);
    }
    return t;
  }
}
