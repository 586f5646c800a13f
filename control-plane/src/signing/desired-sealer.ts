import {
  bodyDigest,
  desiredLeaf,
  desiredTree,
  PROTOCOL_SCHEMA,
  type DesiredStatement,
  type ReleaseSignature,
  type SignedDesired,
} from '@flotilla/shared';
import { DesiredTooLargeError } from './signing.errors';

/** What a desired state holds for one device before sealing (the mapper's `desiredContent`). */
export type DesiredContent = Omit<DesiredStatement, 'schema' | 'issuedAt' | 'expiresAt' | 'keyEndorsements' | 'revokedKeys'>;

/** A sealed desired state, with the exact bytes of its `desired` message (what `encodePayload` would give). */
export interface SealedDesired {
  envelope: SignedDesired;
  bytes: Buffer;
}

/** What the fan-out shares: the body's text, its escaped bytes for the envelope, and its digest. */
interface Body {
  text: string;
  escaped: Buffer;
  digest: Buffer;
}

/** The inside of a JSON string holding `raw`. */
const escape = (raw: string): string => JSON.stringify(raw).slice(1, -1);

/**
 * Seals many desired states at once (one fan-out). Each device's statement is its own (its id and
 * rev are signed, so a device cannot replay another's) but small; what most of a message's bytes
 * are — the release, the key chain, the revocations — is the body, shared by the fan-out:
 * serialised, escaped and hashed once per distinct release. A batch is signed once, over the root
 * of a hash tree of its statements (@flotilla/shared `desired-batch.ts`), so per device what
 * remains is serialising its small statement, a few SHA-256 and a concatenation. The messages
 * are those `sealDesiredBatch` of @flotilla/shared builds, up to key order, which the signature
 * covers as it stands (the exact text is signed, not canonical JSON).
 */
export class DesiredSealer {
  private readonly bodies = new WeakMap<object, Body>();
  private nullBody: Body | undefined;
  /** `,"issuedAt":…,"expiresAt":…}`: the end every statement of this fan-out shares. */
  private readonly tail: string;
  /** `{"keyEndorsements":…,"revokedKeys":…}` without its braces: the body's shared end. */
  private readonly bodyTail: string;

  constructor(
    private readonly sign: (root: Buffer) => ReleaseSignature,
    shared: Pick<DesiredStatement, 'issuedAt' | 'expiresAt' | 'keyEndorsements' | 'revokedKeys'>,
    private readonly maxPayloadBytes: number,
  ) {
    const { issuedAt, expiresAt, ...chain } = shared;
    this.tail = `,${JSON.stringify({ issuedAt, expiresAt }).slice(1)}`;
    this.bodyTail = JSON.stringify(chain).slice(1, -1);
  }

  /**
   * Seals `contents` under one signature; each entry is the device's message, or the error of
   * one whose message would exceed the broker's limit (it is left out of the batch).
   */
  sealAll(contents: readonly DesiredContent[]): (SealedDesired | DesiredTooLargeError)[] {
    const parts = contents.map((content) => {
      const { release, ...own } = content;
      const statement = `${JSON.stringify({ schema: PROTOCOL_SCHEMA, ...own }).slice(0, -1)}${this.tail}`;
      const body = this.body(release);
      const escaped = escape(statement);
      // Without the proof and signature (a few hundred bytes, counted below): what a device's part weighs.
      const size = Buffer.byteLength(escaped) + body.escaped.length;
      return size > this.maxPayloadBytes
        ? new DesiredTooLargeError(content.deviceId, size, this.maxPayloadBytes)
        : { deviceId: content.deviceId, statement, escaped, body };
    });
    const fits = parts.filter((p): p is Exclude<typeof p, DesiredTooLargeError> => !(p instanceof DesiredTooLargeError));
    if (fits.length === 0) return parts as DesiredTooLargeError[];
    const { root, proofs } = desiredTree(fits.map((p) => desiredLeaf(p.body.digest, p.statement)));
    const signature = this.sign(root);
    const signatureJson = JSON.stringify(signature);
    let next = 0;
    return parts.map((p) => {
      if (p instanceof DesiredTooLargeError) return p;
      const proof = proofs[next++]!;
      const head = Buffer.from(`{"schema":${PROTOCOL_SCHEMA},"statement":"${p.escaped}","body":"`);
      const end = Buffer.from(`","proof":${JSON.stringify(proof)},"signature":${signatureJson}}`);
      const bytes = Buffer.concat([head, p.body.escaped, end]);
      if (bytes.length > this.maxPayloadBytes) return new DesiredTooLargeError(p.deviceId, bytes.length, this.maxPayloadBytes);
      return { envelope: { schema: PROTOCOL_SCHEMA, statement: p.statement, body: p.body.text, proof, signature }, bytes };
    });
  }

  private body(release: DesiredContent['release']): Body {
    let body = release === null ? this.nullBody : this.bodies.get(release);
    if (!body) {
      const rest = this.bodyTail ? `,${this.bodyTail}` : '';
      const text = `{"release":${JSON.stringify(release)}${rest}}`;
      body = { text, escaped: Buffer.from(escape(text)), digest: bodyDigest(text) };
      if (release === null) this.nullBody = body;
      else this.bodies.set(release, body);
    }
    return body;
  }
}
