import { EngineHttpError } from './engine-client';
import { ImageNotFoundError, ImagePullError, RegistryAuthError } from './errors';
import { pullError, pullQuery, registryAuthHeader } from './image-pull';

// Unit: what a pull asks the engine, and what its failures mean.
describe('pullQuery', () => {
  const digest = `sha256:${'a'.repeat(64)}`;
  it('puts a digest in tag, as the docker CLI does', () => {
    expect(pullQuery(`127.0.0.1:5000/flotilla/web@${digest}`)).toEqual({ fromImage: '127.0.0.1:5000/flotilla/web', tag: digest });
  });
  it('splits a tag, but not a registry port', () => {
    expect(pullQuery('127.0.0.1:5000/web:1.2')).toEqual({ fromImage: '127.0.0.1:5000/web', tag: '1.2' });
    expect(pullQuery('127.0.0.1:5000/web')).toEqual({ fromImage: '127.0.0.1:5000/web', tag: 'latest' });
    expect(pullQuery('busybox')).toEqual({ fromImage: 'busybox', tag: 'latest' });
  });
});

describe('registryAuthHeader', () => {
  const decode = (header: string) => JSON.parse(Buffer.from(header, 'base64url').toString()) as Record<string, string>;

  it("is padded URL-safe base64, as the engine's Go decoder reads it", () => {
    const header = registryAuthHeader({ registry: 'registry.test:5000', username: 'u', password: 'p?>' });
    expect(header).not.toMatch(/[+/]/);
    expect(header.length % 4).toBe(0);
    expect(decode(header)).toEqual({ username: 'u', password: 'p?>', serveraddress: 'registry.test:5000' });
  });

  it("sends a token as registrytoken, and Docker Hub's login at its v1 index address", () => {
    expect(decode(registryAuthHeader({ registry: 'registry.test', token: 't0k', expiresAt: '2026-12-05T11:00:00.000Z' }))).toEqual({
      registrytoken: 't0k',
      serveraddress: 'registry.test',
    });
    expect(decode(registryAuthHeader({ registry: 'docker.io', username: 'u', password: 'p' })).serveraddress).toBe(
      'https://index.docker.io/v1/',
    );
  });
});

describe('pullError', () => {
  const ref = 'registry.test/web:1';

  it('names a refused login, saying whether one was sent', () => {
    const refused = pullError(ref, new EngineHttpError(401, 'unauthorized'), undefined);
    expect(refused).toBeInstanceOf(RegistryAuthError);
    expect(
      pullError(ref, new Error('pull access denied for web'), {
        registry: 'registry.test',
        token: 't',
        expiresAt: '2026-12-05T11:00:00.000Z',
      }),
    ).toBeInstanceOf(RegistryAuthError);
  });

  it('tells a missing image from any other failure', () => {
    expect(pullError(ref, new EngineHttpError(404, 'nope'), undefined)).toBeInstanceOf(ImageNotFoundError);
    expect(pullError(ref, new Error('manifest unknown'), undefined)).toBeInstanceOf(ImageNotFoundError);
    expect(pullError(ref, new Error('connection reset'), undefined)).toBeInstanceOf(ImagePullError);
  });
});
