import { RefusalSummary } from './refusal-summary';

describe('RefusalSummary', () => {
  it('sums refusals by reason and address into one line, then starts over', () => {
    const s = new RefusalSummary();
    expect(s.take(60_000)).toBeUndefined();
    for (let i = 0; i < 5; i++) s.add('unknown-id', '10.0.0.1');
    s.add('bad-password', '10.0.0.2');
    expect(s.take(60_000)).toBe(
      'refused 6 MQTT connections, logins or publishes in the last 60 s: unknown-id 5, bad-password 1; most from 10.0.0.1 (5), 10.0.0.2 (1)',
    );
    expect(s.take(60_000)).toBeUndefined();
  });

  it('keeps the last detail of a reason', () => {
    const s = new RefusalSummary();
    s.add('server-unavailable', 'a', 'connection refused');
    s.add('server-unavailable', 'a', 'timeout exceeded when trying to connect');
    expect(s.take(1000)).toContain('server-unavailable 2 (last: timeout exceeded when trying to connect)');
  });

  it('remembers a bounded number of addresses', () => {
    const s = new RefusalSummary();
    for (let i = 0; i < 1500; i++) s.add('throttled', `addr-${i}`);
    expect(s.take(1000)).toContain('refused 1500');
  });
});
