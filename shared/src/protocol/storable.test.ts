import { extremeInstance, leaves, pastLimits, withValue } from '../../../test/support/schema-leaves';
import { CHANNEL_SCHEMAS, decodePayload } from './messages/channels';
import { isStorableText, toStorableText, TIMESTAMP_MAX_MS } from './storable';
import { DEVICE_TO_CLOUD } from './topics';

describe('storable text', () => {
  it('refuses NUL and unpaired surrogates, keeps pairs and other odd Unicode', () => {
    expect(isStorableText('e\u0301\u{1F600}\u202E\u200D')).toBe(true);
    for (const bad of ['\u0000', 'a\uD800', '\uDC00a', '\uDBFF\uDBFF\uDC00'.slice(0, 2)]) expect(isStorableText(bad)).toBe(false);
  });

  it('toStorableText replaces what cannot be stored and never splits a pair', () => {
    expect(toStorableText('a\u0000b\uD800')).toBe('a\uFFFDb\uFFFD');
    expect(toStorableText('ab\u{1F600}', 3)).toBe('ab');
    expect(isStorableText(toStorableText('ab\u{1F600}', 3))).toBe(true);
  });
});

/**
 * Every uplink channel, every field: bounded, accepted at its limits and refused one step past
 * them. A new field without a bound fails the first test.
 */
describe.each(DEVICE_TO_CLOUD)('uplink channel %s', (channel) => {
  const schema = CHANNEL_SCHEMAS[channel];
  const fields = leaves(schema);

  it('bounds every number and string', () => {
    const unbounded = fields.filter(
      (l) =>
        (l.kind === 'number' && (!Number.isFinite(l.min) || !Number.isFinite(l.max))) ||
        (l.kind === 'string' && !Number.isFinite(l.maxLength)),
    );
    expect(unbounded.map((l) => l.path.join('.'))).toEqual([]);
  });

  it.each(['max', 'min'] as const)('accepts every field at its %s', (end) => {
    const r = decodePayload(channel, JSON.stringify(extremeInstance(schema, end)));
    expect(r).toMatchObject({ ok: true });
  });

  it('refuses every field one step past its limits, naming the field', () => {
    const base = extremeInstance(schema, 'max');
    for (const leaf of fields) {
      for (const bad of pastLimits(leaf)) {
        const r = decodePayload(channel, JSON.stringify(withValue(base, leaf.path, bad)));
        if (r.ok) throw new Error(`${channel}: ${leaf.path.join('.')} = ${JSON.stringify(bad).slice(0, 60)} was accepted`);
        expect(r.reason).toContain(leaf.path.join('.'));
      }
    }
  });
});

it('the latest storable timestamp still prints with a four-digit year', () => {
  expect(new Date(TIMESTAMP_MAX_MS).toISOString()).toBe('9999-12-31T23:59:59.999Z');
});
