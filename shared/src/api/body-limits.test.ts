import { MAX_JSON_BODY_BYTES } from './body-limits';
import { CreateRolloutRequest, MAX_DEVICE_ID_LENGTH, MAX_ROLLOUT_DEVICE_IDS } from './rollouts';

describe('MAX_JSON_BODY_BYTES', () => {
  it('holds the largest rollout request the schema accepts, and the schema accepts no larger list', () => {
    const ids = Array.from({ length: MAX_ROLLOUT_DEVICE_IDS }, (_, i) => `d${String(i).padStart(MAX_DEVICE_ID_LENGTH - 1, '0')}`);
    const largest = {
      releaseId: '00000000-0000-4000-8000-000000000000',
      name: 'n'.repeat(128),
      selection: { fleetId: '00000000-0000-4000-8000-000000000000', tags: Array(32).fill('t'.repeat(64)), deviceIds: ids },
      phases: [
        ...Array.from({ length: 19 }, () => ({
          name: 'p'.repeat(64),
          percent: 99.99999999999999,
          successThreshold: 99.99999999999999,
          failureThreshold: 0.000000000000001,
          onFailure: 'abort',
        })),
        { name: 'p'.repeat(64), deviceIds: ids, successThreshold: 100, failureThreshold: 0, onFailure: 'pause' },
      ],
      advance: 'manual',
      force: false,
      deviceTimeoutSeconds: 604_800,
    };
    expect(CreateRolloutRequest.safeParse(largest).success).toBe(true);
    expect(Buffer.byteLength(JSON.stringify(largest))).toBeLessThanOrEqual(MAX_JSON_BODY_BYTES);
    expect(CreateRolloutRequest.safeParse({ ...largest, selection: { deviceIds: [...ids, 'x'] } }).success).toBe(false);
    const twice = [largest.phases[19]!, { ...largest.phases[19]!, deviceIds: ['x'] }];
    expect(CreateRolloutRequest.safeParse({ ...largest, phases: twice }).success).toBe(false);
    expect(CreateRolloutRequest.safeParse({ ...largest, selection: { deviceIds: ['not a device id'] } }).success).toBe(false);
  });
});
