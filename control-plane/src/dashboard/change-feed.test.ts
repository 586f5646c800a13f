import { ChangeTracker } from './change-feed';

describe('ChangeTracker', () => {
  it('reports a key the first time and whenever its fingerprint changes, not on repeats', () => {
    const t = new ChangeTracker();
    expect(t.has('a')).toBe(false);
    expect(t.changed('a', 'online')).toBe(true);
    expect(t.changed('a', 'online')).toBe(false);
    expect(t.changed('a', 'offline')).toBe(true);
    expect(t.has('a')).toBe(true);
  });
});
