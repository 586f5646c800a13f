import { MAX_PAYLOAD_BYTES, decodePayload, encodePayload } from './messages';

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
    const cmd = { schema: 1 as const, id: 'c1', name: 'reboot' as const, args: {} };
    expect(decodePayload('cmd', encodePayload('cmd', cmd))).toEqual({ ok: true, value: cmd });
    expect(() => encodePayload('status', { schema: 1, status: 'sleeping' as 'online' })).toThrow();
  });
});
