import { ConfigError, readConfig } from './config';

describe('readConfig', () => {
  it('has defaults for a device, and samples telemetry at most once per batch', () => {
    const config = readConfig({});
    expect(config).toMatchObject({
      telemetryIntervalMs: 60_000,
      telemetrySampleMs: 10_000,
      board: undefined,
      scopeLabel: undefined,
      connectSpreadMs: 30_000,
    });
    expect(readConfig({ FLOTILLA_TELEMETRY_INTERVAL_MS: '2000' }).telemetrySampleMs).toBe(2_000);
    expect(readConfig({ FLOTILLA_CONNECT_SPREAD_MS: '0' }).connectSpreadMs).toBe(0);
  });

  it('reads the board and the scope label', () => {
    const config = readConfig({
      FLOTILLA_BOARD: 'raspberrypi5',
      FLOTILLA_SCOPE_LABEL: 'io.flotilla.test-run=abc',
    });
    expect(config).toMatchObject({
      board: 'raspberrypi5',
      scopeLabel: { key: 'io.flotilla.test-run', value: 'abc' },
    });
  });

  it('refuses malformed values, naming the variable', () => {
    expect(() => readConfig({ FLOTILLA_HEALTH_TIMEOUT_MS: '5' })).toThrow(ConfigError);
    expect(() => readConfig({ FLOTILLA_SCOPE_LABEL: 'no-equals' })).toThrow(/FLOTILLA_SCOPE_LABEL/);
    expect(() => readConfig({ FLOTILLA_DISK_RESERVE_BYTES: '-1' })).toThrow(/FLOTILLA_DISK_RESERVE_BYTES/);
    expect(() => readConfig({ FLOTILLA_CONNECT_SPREAD_MS: '30s' })).toThrow(/FLOTILLA_CONNECT_SPREAD_MS/);
  });
});
