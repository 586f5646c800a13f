import { countFleet } from './fleet-counts';
import { SimDevice } from './sim-device';

describe('countFleet', () => {
  it('sums every device once and passes the tally through', () => {
    const devices = ['a', 'b', 'c'].map((deviceId) => new SimDevice({ mqttUrl: 'mqtt://127.0.0.1:1', deviceId }));
    devices[0]!.telemetrySent = 5;
    devices[0]!.telemetryAcked = 4;
    devices[1]!.telemetrySent = 2;
    devices[1]!.connectFailures = 3;
    devices[2]!.disconnects = 1;
    expect(countFleet(devices, { desiredReceived: 7, committed: 6, rolledBack: 1 })).toEqual({
      devices: 3,
      // None started: no client, so none connected.
      connected: 0,
      desiredReceived: 7,
      committed: 6,
      rolledBack: 1,
      telemetrySent: 7,
      telemetryAcked: 4,
      connectFailures: 3,
      disconnects: 1,
    });
  });
});
