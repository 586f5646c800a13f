import type { IncomingMessage } from 'node:http';
import { answerChallenge, parseChallenge, parseImageRef, type RegistryAuth } from '@flotilla/shared/device';
import { pinnedHttpGet } from '../support/http-get';
import { getResponse } from './delta-http';
import { DeltaUnusableError } from './errors';

/**
 * Reads an image's manifest, config and blobs from its registry with the slot's access (the
 * same login or token the engine's pull would use). A 401 is answered once per repository.
 */
export class RegistryBlobs {
  private authorization: string | undefined;
  private readonly base: string;
  private readonly repository: string;

  constructor(
    ref: string,
    private readonly auth: RegistryAuth | undefined,
    private readonly signal: AbortSignal,
    /** The device's pinned CAs: a registry over https must chain to one of them. */
    private readonly ca: readonly string[] | undefined,
  ) {
    const image = parseImageRef(ref);
    if (!image) throw new DeltaUnusableError(`${ref} is not pinned by digest with a registry host`);
    this.repository = image.repository;
    this.base = `${/^(127\.|localhost(:|$))/.test(image.host) ? 'http' : 'https'}://${image.host}/v2/${image.repository}`;
  }

  async get(path: string, accept: string): Promise<IncomingMessage> {
    const request = () =>
      getResponse(
        `${this.base}/${path}`,
        { accept, ...(this.authorization ? { authorization: this.authorization } : {}) },
        this.signal,
        this.ca,
      );
    let res = await request();
    const challenge =
      res.statusCode === 401 && this.auth && !this.authorization ? parseChallenge(res.headers['www-authenticate'] ?? null) : undefined;
    if (challenge && this.auth) {
      res.resume();
      this.authorization = await answerChallenge(challenge, this.auth, this.repository, pinnedHttpGet(this.ca), 10_000);
      res = await request();
    }
    return res;
  }
}
