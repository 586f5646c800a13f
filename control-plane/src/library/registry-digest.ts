/**
 * Resolves an image tag to the digest its registry serves, with the Docker Registry HTTP
 * API v2 (`HEAD /v2/<repo>/manifests/<tag>`, header `Docker-Content-Digest`). Manifest lists
 * are asked for first so a multi-arch tag resolves to the list and each board pulls its own
 * platform.
 */
const MANIFEST_TYPES = [
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
].join(', ');

export interface ImageTag {
  registry: string;
  repository: string;
  tag: string;
}

/** `127.0.0.1:5000/flotilla/broker:1.0.0` → its parts; undefined when it names no registry host or no tag. */
export function parseImageTag(image: string): ImageTag | undefined {
  const m = /^([^/]+\.[^/]+|[^/]+:\d+|localhost)\/([^:@]+):([\w][\w.-]{0,127})$/.exec(image);
  return m ? { registry: m[1]!, repository: m[2]!, tag: m[3]! } : undefined;
}

export type DigestLookup = (tag: ImageTag) => Promise<string>;

/** Plain HTTP for loopback registries (Docker treats 127.0.0.0/8 as insecure by default), HTTPS elsewhere. */
export const lookupDigestOverHttp: DigestLookup = async ({ registry, repository, tag }) => {
  const loopback = /^(127\.\d+\.\d+\.\d+|localhost)(:\d+)?$/.test(registry);
  const url = `${loopback ? 'http' : 'https'}://${registry}/v2/${repository}/manifests/${tag}`;
  const res = await fetch(url, { method: 'HEAD', headers: { accept: MANIFEST_TYPES }, signal: AbortSignal.timeout(5_000) });
  const digest = res.headers.get('docker-content-digest');
  if (!res.ok || !digest) throw new Error(`${url} answered ${res.status}${digest ? '' : ' without a Docker-Content-Digest header'}`);
  return digest;
};
