import { answerChallenge, basicAuthorization, parseChallenge } from './registry-login';

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
    const fetchFn = (async (url: URL, init: RequestInit) => {
      asked.push({ url: url.toString(), authorization: new Headers(init.headers).get('authorization') });
      return new Response(JSON.stringify({ access_token: 'tok' }), { status: 200 });
    }) as unknown as typeof fetch;
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
    const fetchFn = (async () => new Response('{}', { status: 401 })) as unknown as typeof fetch;
    expect(await answerChallenge({ scheme: 'bearer', realm: 'https://auth.example.com/token' }, auth, 'a', fetchFn, 1000)).toBeUndefined();
  });
});
