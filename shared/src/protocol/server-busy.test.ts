import { SERVER_BUSY, isServerBusy, serverBusyDelayMs } from './server-busy';

describe('server busy (CONNACK return code 3 with a documented delay)', () => {
  it('waits at least retryAfterMs and at most retryAfterMs + jitterMs', () => {
    expect(serverBusyDelayMs(() => 0)).toBe(SERVER_BUSY.retryAfterMs);
    expect(serverBusyDelayMs(() => 0.999999)).toBe(SERVER_BUSY.retryAfterMs + SERVER_BUSY.jitterMs - 1);
  });

  it('is return code 3 only: a bad password or an unauthorized client is not busy', () => {
    expect(isServerBusy(3)).toBe(true);
    for (const code of [0, 1, 2, 4, 5, undefined]) expect(isServerBusy(code)).toBe(false);
  });
});
