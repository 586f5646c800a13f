import type { ControlPlaneConfig } from '../config';
import { brokerPorts } from './waiting-listeners';

const base: ControlPlaneConfig = { host: '0.0.0.0', plainHost: '127.0.0.1', port: 8080, mqttPort: 1883, dataDir: '/var/lib/flotilla' };

describe('brokerPorts', () => {
  it('opens the plain port on the plain interface, and MQTT over TLS on the TLS one', () => {
    expect(brokerPorts({ ...base, tls: { source: { kind: 'generated', extraNames: [] }, httpsPort: 8443, mqttsPort: 8883 } })).toEqual({
      plain: { port: 1883, host: '127.0.0.1' },
      secure: { port: 8883, host: '0.0.0.0' },
    });
  });

  it('opens no MQTT over TLS port behind a TLS-terminating proxy, nor without TLS', () => {
    const terminated = { source: { kind: 'terminated' as const, chainPath: '/etc/proxy-ca.pem' }, httpsPort: 8443, mqttsPort: 8883 };
    expect(brokerPorts({ ...base, tls: terminated })).toEqual({ plain: { port: 1883, host: '127.0.0.1' } });
    expect(brokerPorts({ ...base, plainHost: undefined })).toEqual({ plain: { port: 1883, host: '0.0.0.0' } });
  });

  it('opens none with an external broker: devices connect to the cluster', () => {
    const rabbitmq = { deviceMqttUrl: 'mqtts://mq.example.com:8883' } as NonNullable<ControlPlaneConfig['rabbitmq']>;
    expect(brokerPorts({ ...base, rabbitmq })).toBeUndefined();
  });
});
