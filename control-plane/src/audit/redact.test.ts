import { redactSecrets } from './redact';

describe('redactSecrets', () => {
  it('replaces secret-named fields at any depth and keeps the rest', () => {
    expect(
      redactSecrets({ id: 'k1', key: 'fok_x', nested: [{ password: 'p', name: 'n' }], provisioning: { token: 't', apiUrl: 'u' } }),
    ).toEqual({
      id: 'k1',
      key: '[redacted]',
      nested: [{ password: '[redacted]', name: 'n' }],
      provisioning: { token: '[redacted]', apiUrl: 'u' },
    });
    expect(redactSecrets(null)).toBeNull();
    expect(redactSecrets('text')).toBe('text');
  });
});
