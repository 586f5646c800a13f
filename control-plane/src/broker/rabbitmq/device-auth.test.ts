import {
  loginShape,
  resourceDecision,
  routingKeyOfTopic,
  topicDecision,
  topicOfRoutingKey,
  vhostDecision,
  UPLINK_ROUTING_KEYS,
} from './device-auth';

const allowed = (v: { allow: boolean }) => v.allow;

describe('device access on RabbitMQ (the answers to its HTTP auth backend)', () => {
  it('maps MQTT topics and AMQP routing keys both ways, wildcards included', () => {
    expect(routingKeyOfTopic('flotilla/v1/d/dev_a/desired/get')).toBe('flotilla.v1.d.dev_a.desired.get');
    expect(topicOfRoutingKey('flotilla.v1.d.*.#')).toBe('flotilla/v1/d/+/#');
    expect(UPLINK_ROUTING_KEYS).toContain('flotilla.v1.d.*.cmd.res');
    expect(UPLINK_ROUTING_KEYS).not.toContain('flotilla.v1.d.*.desired');
  });

  it('logs in only a device id whose client id is the same', () => {
    expect(allowed(loginShape('dev_a', 'dev_a'))).toBe(true);
    expect(allowed(loginShape('dev_a', 'dev_b'))).toBe(false);
    expect(allowed(loginShape('dev.a', 'dev.a'))).toBe(false);
    expect(allowed(loginShape('', ''))).toBe(false);
  });

  it('lets a device use its own session queues and the MQTT exchange only', () => {
    expect(allowed(resourceDecision('dev_a', 'queue', 'mqtt-subscription-dev_aqos1', 'configure'))).toBe(true);
    expect(allowed(resourceDecision('dev_a', 'queue', 'mqtt-subscription-dev_aqos0', 'read'))).toBe(true);
    expect(allowed(resourceDecision('dev_a', 'queue', 'mqtt-subscription-dev_bqos1', 'read'))).toBe(false);
    expect(allowed(resourceDecision('dev_a', 'queue', 'flotilla.uplink', 'read'))).toBe(false);
    expect(allowed(resourceDecision('dev_a', 'exchange', 'amq.topic', 'write'))).toBe(true);
    expect(allowed(resourceDecision('dev_a', 'exchange', 'amq.topic', 'configure'))).toBe(false);
    expect(allowed(resourceDecision('dev_a', 'exchange', 'amq.direct', 'write'))).toBe(false);
  });

  it("admits to the devices' vhost only, and only with the login's own client id (certificate logins name none before)", () => {
    expect(allowed(vhostDecision('/', '/', 'dev_a', 'dev_a'))).toBe(true);
    expect(allowed(vhostDecision('/', '/', 'dev_a', undefined))).toBe(true);
    expect(allowed(vhostDecision('other', '/', 'dev_a', 'dev_a'))).toBe(false);
    expect(allowed(vhostDecision('/', '/', 'dev_a', 'dev_b'))).toBe(false);
    expect(allowed(vhostDecision('/', '/', 'dev_a', ''))).toBe(false);
  });

  it('lets a device publish its uplink and subscribe to its downlink, on its own topics only', () => {
    const topic = (permission: string, key: string, exchange = 'amq.topic') => allowed(topicDecision('dev_a', exchange, permission, key));
    expect(topic('write', 'flotilla.v1.d.dev_a.reported')).toBe(true);
    expect(topic('write', 'flotilla.v1.d.dev_a.desired.get')).toBe(true);
    expect(topic('write', 'flotilla.v1.d.dev_b.reported')).toBe(false);
    expect(topic('write', 'flotilla.v1.d.dev_a.desired')).toBe(false);
    expect(topic('read', 'flotilla.v1.d.dev_a.desired')).toBe(true);
    expect(topic('read', 'flotilla.v1.d.dev_a.cmd')).toBe(true);
    expect(topic('read', 'flotilla.v1.d.dev_b.desired')).toBe(false);
    expect(topic('read', 'flotilla.v1.d.*.desired')).toBe(false);
    expect(topic('read', 'flotilla.v1.d.dev_a.#')).toBe(false);
    expect(topic('read', 'flotilla.v1.d.dev_a.reported')).toBe(false);
    expect(topic('write', 'flotilla.v1.d.dev_a.reported', 'amq.fanout')).toBe(false);
    expect(topic('configure', 'flotilla.v1.d.dev_a.reported')).toBe(false);
  });
});
