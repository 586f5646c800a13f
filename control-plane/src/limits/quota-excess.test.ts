import { DEFAULT_QUOTAS } from './device-limits';
import { QuotaExcess } from './quota-excess';

describe('QuotaExcess', () => {
  it('reports each device once, with its drops per channel, then starts over', () => {
    const quotas = { ...DEFAULT_QUOTAS, events: { messagesPerMinute: 20, bytesPerMinute: 1000 } };
    const excess = new QuotaExcess(quotas);
    for (let i = 0; i < 3; i++) excess.add('d1', 'events', 'messages');
    excess.add('d1', 'events', 'bytes');
    excess.add('d1', 'inventory', 'messages');
    excess.add('d2', 'events', 'messages');
    expect(excess.take()).toEqual([
      {
        deviceId: 'd1',
        message:
          'dropped 4 events messages over the quota of 20 messages and 1000 bytes a minute; ' +
          `dropped 1 inventory messages over the quota of ${DEFAULT_QUOTAS.inventory.messagesPerMinute} messages and ${DEFAULT_QUOTAS.inventory.bytesPerMinute} bytes a minute`,
      },
      { deviceId: 'd2', message: 'dropped 1 events messages over the quota of 20 messages and 1000 bytes a minute' },
    ]);
    expect(excess.take()).toEqual([]);
  });
});
