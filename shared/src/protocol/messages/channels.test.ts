import { MAX_JSON_DEPTH, decodePayload, encodePayload, nestsDeeperThan } from './channels';
import { MAX_PAYLOAD_BYTES } from './envelope';

describe('decodePayload', () => {
  it('accepts a valid message and strips unknown keys', () => {
    const r = decodePayload('desired/get', JSON.stringify({ schema: 1, rev: 3, extra: true }));
    expect(r).toEqual({ ok: true, value: { schema: 1, rev: 3 } });
  });

  it('says why a payload is refused', () => {
    expect(decodePayload('desired/get', '{nope')).toMatchObject({ ok: false, reason: expect.stringMatching(/^not JSON/) });
    expect(decodePayload('desired/get', '{"schema":2,"rev":-1}')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/schema: .*rev: /),
    });
    expect(decodePayload('status', 'x'.repeat(MAX_PAYLOAD_BYTES + 1))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/exceeds/),
    });
  });

  it('round-trips through encodePayload, and encodePayload refuses invalid values', () => {
    const cmd = { schema: 1 as const, statement: '{}', signature: { alg: 'ed25519' as const, keyId: 'k', value: `${'A'.repeat(86)}==` } };
    expect(decodePayload('cmd', encodePayload('cmd', cmd))).toEqual({ ok: true, value: cmd });
    expect(() => encodePayload('status', { schema: 1, status: 'sleeping' as 'online' })).toThrow();
  });
});

describe('nesting depth', () => {
  const nested = (depth: number, open = '[', close = ']'): string => open.repeat(depth) + close.repeat(depth);

  it('counts arrays and objects, not brackets inside strings, and honours escapes', () => {
    expect(nestsDeeperThan(nested(3), 3)).toBe(false);
    expect(nestsDeeperThan(nested(4), 3)).toBe(true);
    expect(nestsDeeperThan('{"a":{"b":[{}]}}', 3)).toBe(true);
    expect(nestsDeeperThan('{"a":{"b":[1]}}', 3)).toBe(false);
    expect(nestsDeeperThan(JSON.stringify({ s: '[[[[{{{{' }), 1)).toBe(false);
    // An escaped quote does not end the string; an escaped backslash before the closing quote does not escape it.
    expect(nestsDeeperThan(JSON.stringify({ s: 'a"[[[[' }), 1)).toBe(false);
    expect(nestsDeeperThan(JSON.stringify({ s: 'a\\' }) + nested(2), 1)).toBe(true);
    expect(nestsDeeperThan(JSON.stringify([{ s: 'a\\' }]), 2)).toBe(false);
  });

  it('refuses a payload nested past the bound before parsing it, and takes one at it', () => {
    const deep = nested(131_062);
    const started = performance.now();
    expect(decodePayload('cmd/res', deep)).toEqual({ ok: false, reason: `nested deeper than ${MAX_JSON_DEPTH} levels` });
    expect(performance.now() - started).toBeLessThan(100);
    // At the bound it is parsed (and then refused by the schema, not by depth).
    expect(decodePayload('cmd/res', nested(MAX_JSON_DEPTH))).toMatchObject({ ok: false, reason: expect.not.stringMatching(/nested/) });
    expect(decodePayload('cmd/res', nested(MAX_JSON_DEPTH + 1, '{"a":', '}'))).toMatchObject({ reason: expect.stringMatching(/nested/) });
  });
});

describe('an event id', () => {
  const event = { schema: 1, at: '2026-12-05T06:00:00.000Z', kind: 'apply-started', message: 'm' };

  it('is kept when it is a UUID, and optional (agents older than it send none)', () => {
    const id = '0b5c6a8e-7f1d-4c2a-9e3b-5d6f7a8b9c0d';
    expect(decodePayload('events', JSON.stringify({ ...event, id }))).toEqual({ ok: true, value: { ...event, id } });
    expect(decodePayload('events', JSON.stringify(event))).toEqual({ ok: true, value: event });
  });

  it('is refused, with the field named, when it is not a UUID (it keys the stored row)', () => {
    for (const id of ['', 'seq-1', 'x'.repeat(36), 7]) {
      expect(decodePayload('events', JSON.stringify({ ...event, id }))).toMatchObject({
        ok: false,
        reason: expect.stringMatching(/^id: /),
      });
    }
  });
});
