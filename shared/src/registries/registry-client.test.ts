import { createHash } from 'node:crypto';
import { answerChallenge, basicAuthorization, parseChallenge, parseImageRef, registryFacts, type HttpGet } from './registry-client';

const auth = { registry: 'registry.example.com', username: 'alice', password: 's3cret' };

describe('parseChallenge', () => {
  it('reads the Basic challenge of an htpasswd registry', () => {
    expect(parseChallenge('Basic realm="flotilla-test"')).toEqual({ scheme: 'basic' });
  });

  it('reads a token challenge with quoted and escaped parameters', () => {
    expect(
      parseChallenge('Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull"'),
    ).toEqual({ scheme: 'bearer', realm: 'https://auth.example.com/token', service: 'registry.example.com', scope: 'repository:a/b:pull' });
    expect(parseChallenge('bearer realm="https://x/t\\"q"')).toEqual({ scheme: 'bearer', realm: 'https://x/t"q' });
  });

  it('answers nothing it cannot use', () => {
    expect(parseChallenge(null)).toBeUndefined();
    expect(parseChallenge('Bearer service="x"')).toBeUndefined();
    expect(parseChallenge('Negotiate abc')).toBeUndefined();
  });
});

describe('answerChallenge', () => {
  it('answers Basic with the login itself, without asking anyone', async () => {
    const fetchFn = jest.fn();
    expect(await answerChallenge({ scheme: 'basic' }, auth, 'a/b', fetchFn, 1000)).toBe(basicAuthorization(auth));
    expect(fetchFn).not.toHaveBeenCalled();
    expect(basicAuthorization(auth)).toBe(`Basic ${Buffer.from('alice:s3cret').toString('base64')}`);
  });

  it('fetches a pull token from the realm with the login, for the repository when no scope was given', async () => {
    const asked: { url: string; authorization: string | null }[] = [];
    const fetchFn: HttpGet = async (url, init) => {
      asked.push({ url: url.toString(), authorization: init.headers.authorization ?? null });
      return new Response(JSON.stringify({ access_token: 'tok' }), { status: 200 });
    };
    const header = await answerChallenge(
      { scheme: 'bearer', realm: 'https://auth.example.com/token', service: 'reg' },
      auth,
      'team/app',
      fetchFn,
      1000,
    );
    expect(header).toBe('Bearer tok');
    expect(asked).toEqual([
      { url: 'https://auth.example.com/token?service=reg&scope=repository%3Ateam%2Fapp%3Apull', authorization: basicAuthorization(auth) },
    ]);
  });

  it('gives up when the realm refuses the login', async () => {
    const fetchFn: HttpGet = async () => new Response('{}', { status: 401 });
    expect(await answerChallenge({ scheme: 'bearer', realm: 'https://auth.example.com/token' }, auth, 'a', fetchFn, 1000)).toBeUndefined();
  });
});

describe('basicAuthorization', () => {
  it('encodes UTF-8 logins as base64 of their bytes', () => {
    expect(basicAuthorization({ ...auth, password: 'pässwörd' })).toBe(`Basic ${Buffer.from('alice:pässwörd').toString('base64')}`);
  });
});

describe('parseImageRef', () => {
  it('splits a pinned reference into registry host, repository and digest', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(parseImageRef(`127.0.0.1:5000/flotilla/web:1.0@${digest}`)).toEqual({
      host: '127.0.0.1:5000',
      repository: 'flotilla/web',
      digest,
    });
    expect(parseImageRef(`registry.example.com/acme/app@${digest}`)).toEqual({
      host: 'registry.example.com',
      repository: 'acme/app',
      digest,
    });
    // A Docker Hub short name and a tag without digest are not something to ask a registry about here.
    expect(parseImageRef(`library/busybox@${digest}`)).toBeUndefined();
    expect(parseImageRef('registry.example.com/acme/app:1.0')).toBeUndefined();
  });
});

describe('registryFacts', () => {
  const sha = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;
  const config = JSON.stringify({ architecture: 'arm64', os: 'linux' });
  const arm = JSON.stringify({
    schemaVersion: 2,
    config: { digest: sha(config), size: config.length },
    layers: [{ digest: sha('l'), size: 1234 }],
  });
  const index = JSON.stringify({
    schemaVersion: 2,
    manifests: [
      { digest: sha(arm), size: arm.length, platform: { architecture: 'arm64', os: 'linux' } },
      { digest: sha('amd'), size: 3, platform: { architecture: 'amd64', os: 'linux' } },
    ],
  });
  /** A registry that serves `bodies` by the path asked for, whatever their digest. */
  const registry = (bodies: Record<string, string>): HttpGet => {
    return async (url) => {
      const body = bodies[new URL(url).pathname.replace(/^\/v2\/app\//, '')];
      return body === undefined ? new Response('', { status: 404 }) : new Response(body, { status: 200 });
    };
  };
  const ask = async (pinned: string, bodies: Record<string, string>) => {
    const unknown: string[] = [];
    const facts = await registryFacts(
      `registry.example.com/app@${pinned}`,
      { os: 'linux', architecture: 'arm64' },
      {
        get: registry(bodies),
        onUnknown: (reason) => unknown.push(reason),
      },
    );
    return { facts, unknown };
  };

  it('reads architectures and size from answers whose bytes hash to the digests asked for', async () => {
    const byIndex = await ask(sha(index), { [`manifests/${sha(index)}`]: index, [`manifests/${sha(arm)}`]: arm });
    expect(byIndex).toEqual({
      facts: {
        platforms: [
          { architecture: 'arm64', os: 'linux' },
          { architecture: 'amd64', os: 'linux' },
        ],
        sizeBytes: 1234,
      },
      unknown: [],
    });
    const byManifest = await ask(sha(arm), { [`manifests/${sha(arm)}`]: arm, [`blobs/${sha(config)}`]: config });
    expect(byManifest).toEqual({ facts: { platforms: [{ architecture: 'arm64', os: 'linux' }], sizeBytes: 1234 }, unknown: [] });
  });

  it('believes no answer that is not the digest asked for: its facts are unknown, and the reason is told', async () => {
    const pinned = `sha256:${'d'.repeat(64)}`;
    const s390x = JSON.stringify({ schemaVersion: 2, manifests: [{ digest: sha('s'), size: 1, platform: { architecture: 's390x' } }] });
    const huge = JSON.stringify({ schemaVersion: 2, layers: [{ digest: sha('l'), size: 2 ** 50 }] });
    for (const forged of [s390x, huge]) {
      const { facts, unknown } = await ask(pinned, { [`manifests/${pinned}`]: forged });
      expect(facts).toEqual({});
      expect(unknown).toEqual([
        `registry.example.com/app: manifests/${pinned}: the registry answered content whose digest is ${sha(forged)}`,
      ]);
    }
    // The platform manifest an index names, and the config a manifest names, are checked the same way.
    const swappedChild = await ask(sha(index), { [`manifests/${sha(index)}`]: index, [`manifests/${sha(arm)}`]: huge });
    expect(swappedChild.facts).toEqual({});
    expect(swappedChild.unknown[0]).toContain(`manifests/${sha(arm)}: the registry answered content whose digest is ${sha(huge)}`);
    const s390xConfig = JSON.stringify({ architecture: 's390x' });
    const swappedConfig = await ask(sha(arm), { [`manifests/${sha(arm)}`]: arm, [`blobs/${sha(config)}`]: s390xConfig });
    expect(swappedConfig.facts).toEqual({});
  });

  it('tells why the facts are unknown when the registry refuses or answers something that is not a manifest', async () => {
    expect((await ask(sha(arm), {})).unknown).toEqual([`registry.example.com/app: manifests/${sha(arm)}: HTTP 404`]);
    const odd = JSON.stringify({ layers: [{ digest: 1 }] });
    expect(await ask(sha(odd), { [`manifests/${sha(odd)}`]: odd })).toEqual({
      facts: {},
      unknown: [expect.stringContaining('unexpected answer at layers.0.digest')],
    });
  });
});
