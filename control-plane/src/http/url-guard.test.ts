import { malformedUrlReason, requestPath } from './url-guard';

describe('malformedUrlReason', () => {
  it('accepts ordinary and correctly encoded URLs', () => {
    for (const url of ['/', '/api/v1/devices?q=k%C3%BCche&limit=5', '/api/v1/components/a/1.0.0', '/x?a=b+c&d', '/x?=&&']) {
      expect([url, malformedUrlReason(url)]).toEqual([url, undefined]);
    }
  });

  it('names undecodable percent-encoding in the path or the query', () => {
    expect(malformedUrlReason('/api/v1/releases/%E0%A4%A')).toBe('"%E0%A4%A" is not valid percent-encoded UTF-8');
    expect(malformedUrlReason('/api/v1/releases?name=%ZZ')).toBe('"%ZZ" is not valid percent-encoded UTF-8');
    // A lone UTF-16 surrogate encoded as UTF-8 is not UTF-8.
    expect(malformedUrlReason('/x?%ED%A0%80=1')).toMatch(/not valid percent-encoded UTF-8/);
  });

  it('refuses control characters, NUL above all, once decoded', () => {
    expect(malformedUrlReason('/api/v1/devices/%00')).toBe('"%00" decodes to a control character');
    expect(malformedUrlReason('/api/v1/devices?q=a%0Ab')).toBe('"a%0Ab" decodes to a control character');
  });

  it('reads the path of a request target, and nothing of one that is no URL (absolute form with a broken authority)', () => {
    expect(requestPath('/mqtt?x=1')).toBe('/mqtt');
    expect(requestPath('http://host:8443/mqtt')).toBe('/mqtt');
    for (const url of ['http://[', 'http://a%zz/', 'http://:99999/', '//[']) expect([url, requestPath(url)]).toEqual([url, undefined]);
  });
});
