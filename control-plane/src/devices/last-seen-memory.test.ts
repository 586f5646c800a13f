import { LastSeenMemory } from './last-seen-memory';

describe('LastSeenMemory', () => {
  let now = 0;
  const memory = () => new LastSeenMemory(5_000, () => now);
  beforeEach(() => (now = 1_000_000));

  it('holds a write for the resolution, then not', () => {
    const m = memory();
    m.wrote(['dev_a'], now);
    now += 4_999;
    expect(m.recent('dev_a')).toBe(true);
    expect(m.recent('dev_b')).toBe(false);
    now += 1;
    expect(m.recent('dev_a')).toBe(false);
  });

  it('counts from when the write started, not from when it was told', () => {
    const m = memory();
    const started = now;
    now += 3_000;
    m.wrote(['dev_a'], started);
    now += 2_000;
    expect(m.recent('dev_a')).toBe(false);
  });

  it('keeps a write made just before a rotation through the next period', () => {
    const m = memory();
    now += 4_900;
    m.wrote(['dev_a'], now);
    now += 200; // a rotation: dev_a now in the previous generation
    expect(m.recent('dev_a')).toBe(true);
    now += 4_700;
    expect(m.recent('dev_a')).toBe(true);
    now += 100;
    expect(m.recent('dev_a')).toBe(false);
  });

  it('forgets everything after a long quiet spell, and a newer write replaces an older one', () => {
    const m = memory();
    m.wrote(['dev_a', 'dev_b'], now);
    now += 60_000;
    expect(m.recent('dev_a')).toBe(false);
    m.wrote(['dev_b'], now);
    now += 1_000;
    expect(m.recent('dev_b')).toBe(true);
    expect(m.recent('dev_a')).toBe(false);
  });
});
