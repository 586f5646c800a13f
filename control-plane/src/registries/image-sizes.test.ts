import { createHash } from 'node:crypto';
import type { HttpGet } from '@flotilla/shared';
import { imageSizeLookup } from './image-sizes';

const manifest = {
  schemaVersion: 2,
  layers: [
    { digest: 'sha256:1', size: 1000 },
    { digest: 'sha256:2', size: 234 },
  ],
};
// The manifest's own digest: the registry client believes no answer that is not what it asked for.
const digest = `sha256:${createHash('sha256').update(JSON.stringify(manifest)).digest('hex')}`;

describe('imageSizeLookup', () => {
  it('asks each registry once per image and architecture, with the login the registry asks for', async () => {
    const asked: string[] = [];
    const get: HttpGet = async (url, init) => {
      asked.push(`${url} ${init.headers.authorization ?? '-'}`);
      if (!init.headers.authorization) return new Response('', { status: 401, headers: { 'www-authenticate': 'Basic realm="r"' } });
      return new Response(JSON.stringify(manifest), { status: 200 });
    };
    const sizeOf = imageSizeLookup(async () => ({ registry: 'registry.example.com', username: 'ci', password: 'pw' }), get);
    expect(await sizeOf(`registry.example.com/app@${digest}`, 'arm64')).toBe(1234);
    expect(await sizeOf(`registry.example.com/app@${digest}`, 'arm64')).toBe(1234);
    expect(asked).toEqual([
      `https://registry.example.com/v2/app/manifests/${digest} -`,
      `https://registry.example.com/v2/app/manifests/${digest} Basic ${Buffer.from('ci:pw').toString('base64')}`,
    ]);
  });

  it('leaves the size unknown when the registry refuses or has no such image', async () => {
    const get: HttpGet = async () => new Response('', { status: 404 });
    expect(await imageSizeLookup(async () => undefined, get)(`registry.example.com/app@${digest}`, 'arm64')).toBeUndefined();
  });
});
