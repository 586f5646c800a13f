import { MAX_PAYLOAD_BYTES, deviceTopic } from '@flotilla/shared';
import { CONNACK, connectDecision, grantedQos, publishDecision, qosDecision, subscribeDecision } from './access-policy';

const me = 'dev_me';
const other = 'dev_other';

describe('publishDecision', () => {
  it('lets a device publish its own uplink channels', () => {
    for (const channel of ['desired/get', 'reported', 'telemetry', 'inventory', 'events', 'cmd/res', 'status'] as const) {
      expect(publishDecision(me, deviceTopic(me, channel), false, 10)).toEqual({ allowed: true, channel });
    }
  });

  it("refuses another device's topics, downlink channels and foreign topics", () => {
    for (const topic of [
      deviceTopic(other, 'reported'),
      deviceTopic(me, 'desired'),
      deviceTopic(me, 'cmd'),
      'flotilla/v1/d/dev_me/unknown',
      '$SYS/x',
      'anything',
    ]) {
      expect(publishDecision(me, topic, false, 10).allowed).toBe(false);
    }
  });

  it('refuses retained messages and oversized payloads', () => {
    expect(publishDecision(me, deviceTopic(me, 'reported'), true, 10)).toEqual({
      allowed: false,
      code: 'retained',
      reason: 'retained messages are not accepted',
    });
    expect(publishDecision(me, deviceTopic(me, 'reported'), false, MAX_PAYLOAD_BYTES).allowed).toBe(true);
    expect(publishDecision(me, deviceTopic(me, 'reported'), false, MAX_PAYLOAD_BYTES + 1).allowed).toBe(false);
  });
});

describe('QoS', () => {
  it('refuses QoS 2 publishes and grants QoS 2 subscriptions as QoS 1', () => {
    expect([0, 1].map(qosDecision)).toEqual([{ allowed: true }, { allowed: true }]);
    expect(qosDecision(2)).toMatchObject({ allowed: false, code: 'qos2' });
    expect([0, 1, 2].map(grantedQos)).toEqual([0, 1, 1]);
  });
});

describe('subscribeDecision', () => {
  it('allows only exactly its own desired and cmd topics', () => {
    expect(subscribeDecision(me, deviceTopic(me, 'desired')).allowed).toBe(true);
    expect(subscribeDecision(me, deviceTopic(me, 'cmd')).allowed).toBe(true);
    for (const filter of [
      deviceTopic(other, 'desired'),
      'flotilla/v1/d/+/desired',
      'flotilla/v1/d/dev_me/#',
      '#',
      deviceTopic(me, 'reported'),
    ]) {
      expect(subscribeDecision(me, filter).allowed).toBe(false);
    }
  });
});

describe('connectDecision', () => {
  const password = Buffer.from('pw');

  it('accepts username = client id and hands back the password as text', () => {
    expect(connectDecision(me, me, password)).toEqual({ accepted: true, deviceId: me, password: 'pw' });
  });

  it('refuses a missing username or password as bad credentials', () => {
    expect(connectDecision(me, undefined, password)).toMatchObject({ accepted: false, returnCode: CONNACK.BAD_USERNAME_OR_PASSWORD });
    expect(connectDecision(me, me, undefined)).toMatchObject({ accepted: false, returnCode: CONNACK.BAD_USERNAME_OR_PASSWORD });
    expect(connectDecision(me, me, Buffer.alloc(0))).toMatchObject({ accepted: false, returnCode: CONNACK.BAD_USERNAME_OR_PASSWORD });
  });

  it('refuses a client id other than the device id', () => {
    expect(connectDecision('mqttjs_1234', me, password)).toMatchObject({ accepted: false, returnCode: CONNACK.IDENTIFIER_REJECTED });
  });

  it('refuses an id no device can have', () => {
    for (const id of ['dev/me', 'x'.repeat(65), 'dév']) {
      expect(connectDecision(id, id, password)).toMatchObject({
        accepted: false,
        code: 'malformed-id',
        returnCode: CONNACK.IDENTIFIER_REJECTED,
      });
    }
  });
});
