import { answerChallenge, basicAuthorization, parseChallenge, parseImageRef, type HttpGet } from './registry-client';

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
