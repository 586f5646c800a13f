import type { HttpGet } from '@flotilla/shared';

/** A manifest, index or image config is read within this, as the agent reads them (docs/architecture.md, "Binary layer deltas"). */
export const MAX_REGISTRY_JSON_BYTES = 4 * 1024 ** 2;

/** The body, refused (and the download cancelled) once it passes `max` bytes rather than held in memory whole. */
export async function readWithin(res: Response, max: number, tooLong: () => Error): Promise<Buffer> {
  if (!res.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let length = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return Buffer.concat(chunks);
    length += value.length;
    if (length > max) {
      await reader.cancel();
      throw tooLong();
    }
    chunks.push(Buffer.from(value));
  }
}

/**
 * `fetch` for the registry answers the control plane reads whole (`registryFacts`: a rollout's
 * dry run): a body past MAX_REGISTRY_JSON_BYTES is refused as it arrives, where `fetch`'s own
 * `arrayBuffer` held whatever a registry sent until the request's timeout.
 */
export const boundedGet: HttpGet = async (url, init) => {
  const res = await fetch(url, init);
  const tooLong = () => new Error(`${String(url)}: the answer is longer than ${MAX_REGISTRY_JSON_BYTES} bytes`);
  const bytes = () => readWithin(res, MAX_REGISTRY_JSON_BYTES, tooLong);
  return {
    ok: res.ok,
    status: res.status,
    headers: res.headers,
    json: async () => JSON.parse((await bytes()).toString('utf8')) as unknown,
    arrayBuffer: async () => {
      const b = await bytes();
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
    },
  };
};
