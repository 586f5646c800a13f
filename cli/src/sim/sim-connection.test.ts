import { DEVICE_RECONNECT_POLICY } from '@flotilla/shared';
import { isPaced, simClientOptions } from './sim-connection';

// Unit: the MQTT options a simulated device connects with.
describe('simClientOptions', () => {
  it('leaves reconnects paced by the shared schedule to the device, not to mqtt.js', () => {
    const paced = { deviceId: 'dev_1', reconnect: DEVICE_RECONNECT_POLICY };
    expect(isPaced(paced)).toBe(true);
    expect(simClientOptions(paced)).toMatchObject({ clientId: 'dev_1', reconnectPeriod: 0, reconnectOnConnackError: false, clean: true });
  });

  it('reconnects at a fixed period through mqtt.js, refused CONNACKs included', () => {
    const fixed = { deviceId: 'dev_1', reconnectPeriodMs: 2_000, persistentSession: true };
    expect(isPaced(fixed)).toBe(false);
    expect(simClientOptions(fixed)).toMatchObject({ reconnectPeriod: 2_000, reconnectOnConnackError: true, clean: false });
    expect(simClientOptions({ deviceId: 'dev_1' })).toMatchObject({ reconnectPeriod: 0, reconnectOnConnackError: false });
  });

  it('logs in with the password, or with the client certificate when one is given', () => {
    expect(simClientOptions({ deviceId: 'dev_1', password: 'pw' })).toMatchObject({ username: 'dev_1', password: 'pw' });
    const tls = simClientOptions({ deviceId: 'dev_1', tls: { ca: ['CA'], cert: 'CERT', key: 'KEY' } });
    expect(tls).toMatchObject({ ca: ['CA'], cert: 'CERT', key: 'KEY', rejectUnauthorized: true });
    expect(tls.username).toBeUndefined();
  });
});
