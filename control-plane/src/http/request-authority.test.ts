import { InvalidHostHeaderError, requestAuthority } from './request-authority';

describe('requestAuthority', () => {
  it('takes a host name, an IPv4 or a bracketed IPv6 address, with or without a port, lower-cased', () => {
    expect(requestAuthority('Fleet.Example:8443')).toEqual({ host: 'fleet.example:8443', hostname: 'fleet.example' });
    expect(requestAuthority('10.0.0.5')).toEqual({ host: '10.0.0.5', hostname: '10.0.0.5' });
    expect(requestAuthority('[::1]:3000')).toEqual({ host: '[::1]:3000', hostname: '[::1]' });
    expect(requestAuthority('control_plane')).toEqual({ host: 'control_plane', hostname: 'control_plane' });
    expect(requestAuthority('cp.example.:80')).toEqual({ host: 'cp.example.:80', hostname: 'cp.example.' });
  });

  it.each([
    ['a path', 'cp.example/evil'],
    ['user info', 'cp.example@evil.example'],
    ['a fragment', 'evil.example#cp.example'],
    ['a query', 'evil.example?x'],
    ['a space', 'cp.example evil'],
    ['a tab', 'cp.example\tx'],
    ['a YAML comment', 'cp.example #'],
    ['a port out of range', 'cp.example:65536'],
    ['a port 0', 'cp.example:0'],
    ['an empty port', 'cp.example:'],
    ['two ports', 'cp.example:1:2'],
    ['an unbracketed IPv6 address', '::1'],
    ['a bracketed non-address', '[evil.example]'],
    ['an empty value', ''],
    ['an empty label', 'cp..example'],
    ['percent-encoding', 'cp%2eexample'],
    ['a name longer than DNS allows', `${'a'.repeat(63)}.`.repeat(5)],
  ])('refuses %s', (_what, value) => {
    expect(() => requestAuthority(value)).toThrow(InvalidHostHeaderError);
  });

  it('refuses a request without a Host header', () => {
    expect(() => requestAuthority(undefined)).toThrow(/no Host header/);
  });
});
