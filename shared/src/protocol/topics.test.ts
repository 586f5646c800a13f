import { deviceMayPublish, deviceMayReceive, deviceMaySubscribe, devicePublishChannel, deviceTopic, parseDeviceTopic } from './topics';

describe('topics', () => {
  it('builds and parses device topics', () => {
    expect(deviceTopic('dev_1', 'desired/get')).toBe('flotilla/v1/d/dev_1/desired/get');
    expect(parseDeviceTopic('flotilla/v1/d/dev_1/cmd/res')).toEqual({ deviceId: 'dev_1', channel: 'cmd/res' });
    expect(parseDeviceTopic('flotilla/v1/d/dev_1/nope')).toBeUndefined();
    expect(parseDeviceTopic('flotilla/v1/d/+/reported')).toBeUndefined();
    expect(() => deviceTopic('a/b', 'desired')).toThrow(/invalid device id/);
  });

  it('lets a device publish only its own uplink channels', () => {
    expect(deviceMayPublish('a', 'flotilla/v1/d/a/reported')).toBe(true);
    expect(deviceMayPublish('a', 'flotilla/v1/d/b/reported')).toBe(false);
    expect(deviceMayPublish('a', 'flotilla/v1/d/a/desired')).toBe(false);
    expect(deviceMayPublish('a', 'flotilla/v1/d/a/cmd')).toBe(false);
    expect(deviceMayPublish('a', 'other/topic')).toBe(false);
  });

  it('names the channel of a publish the device may make, and none of one it may not', () => {
    expect(devicePublishChannel('a', 'flotilla/v1/d/a/events')).toBe('events');
    expect(devicePublishChannel('a', 'flotilla/v1/d/a/desired/get')).toBe('desired/get');
    expect(devicePublishChannel('a', 'flotilla/v1/d/b/events')).toBeUndefined();
    expect(devicePublishChannel('a', 'flotilla/v1/d/a/cmd')).toBeUndefined();
  });

  it('lets a device subscribe only to its own desired and cmd, without wildcards', () => {
    expect(deviceMaySubscribe('a', 'flotilla/v1/d/a/desired')).toBe(true);
    expect(deviceMaySubscribe('a', 'flotilla/v1/d/a/cmd')).toBe(true);
    expect(deviceMaySubscribe('a', 'flotilla/v1/d/b/desired')).toBe(false);
    expect(deviceMaySubscribe('a', 'flotilla/v1/d/+/desired')).toBe(false);
    expect(deviceMaySubscribe('a', 'flotilla/v1/d/a/#')).toBe(false);
    expect(deviceMaySubscribe('a', '#')).toBe(false);
  });

  it('lets a device receive only messages on its own desired and cmd', () => {
    expect(deviceMayReceive('a', 'flotilla/v1/d/a/desired')).toBe(true);
    expect(deviceMayReceive('a', 'flotilla/v1/d/a/cmd')).toBe(true);
    expect(deviceMayReceive('a', 'flotilla/v1/d/b/desired')).toBe(false);
    expect(deviceMayReceive('a', 'flotilla/v1/d/b/cmd')).toBe(false);
    expect(deviceMayReceive('a', 'flotilla/v1/d/a/reported')).toBe(false);
    expect(deviceMayReceive('a', 'flotilla/v1/d/a/cmd/res')).toBe(false);
    expect(deviceMayReceive('a', '$SYS/broker/heartbeat')).toBe(false);
  });
});
