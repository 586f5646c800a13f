import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreatePublicCertificate, publicNames } from '../../tls/public-certificate';
import { deviceTlsListenerConfig } from './rabbitmq-tls-config';

const repo = join(__dirname, '../../../..');
const deployFile = (path: string) => readFile(join(repo, 'deploy/ha', path), 'utf8');

describe('MQTT/TLS of the external broker mode: the HA deployment and its certificate', () => {
  it('configures every RabbitMQ node of deploy/ha with the TLS listener, certificate login and no plain MQTT', async () => {
    const conf = (await deployFile('rabbitmq/rabbitmq.conf')).split('\n').map((l) => l.trim());
    const files = {
      certFile: '/etc/rabbitmq/tls/public.pem',
      keyFile: '/etc/rabbitmq/tls/public.key',
      deviceCaFile: '/etc/rabbitmq/tls/device-ca.pem',
    };
    for (const line of deviceTlsListenerConfig('8883', files)) expect(conf).toContain(line);
    expect(conf.filter((l) => l.startsWith('mqtt.listeners.tcp'))).toEqual(['mqtt.listeners.tcp = none']);
    // Client certificates are never checked against the CA devices pin for the server.
    expect(conf.filter((l) => l.startsWith('ssl_options.cacertfile'))).toEqual([`ssl_options.cacertfile = ${files.deviceCaFile}`]);
  });

  it('passes MQTT/TLS and HTTPS through HAProxy in TCP mode, and publishes no plain MQTT', async () => {
    const cfg = await deployFile('haproxy.cfg');
    const section = (name: string) => cfg.split(/\n(?=\S)/).find((s) => s.startsWith(name)) ?? '';
    expect(section('frontend mqtts')).toMatch(/bind :8883\n\s+mode tcp/);
    expect(section('backend rabbitmq_mqtts')).toMatch(/mode tcp/);
    expect(section('backend rabbitmq_mqtts').match(/server rabbit\d rabbit\d:8883 check/g)).toHaveLength(3);
    expect(section('frontend https')).toMatch(/bind :8443\n\s+mode tcp/);
    expect(section('backend control_plane_https').match(/server cp\d cp\d:8443 check port 3000/g)).toHaveLength(3);
    expect(cfg).not.toMatch(/1883/);
    const compose = await deployFile('compose.yml');
    expect(compose).toMatch(/FLOTILLA_PUBLIC_MQTT_URL: \$\{FLOTILLA_PUBLIC_MQTT_URL:-mqtts:\/\/localhost:8883\}/);
    expect(compose).toMatch(/- tls:\/etc\/rabbitmq\/flotilla-tls:ro/);
    expect(compose.match(/- tls:\/data\/tls$/gm)).toHaveLength(4);
    expect(compose).not.toMatch(/:1883'/);
  });

  it('makes the public certificate from the CA devices pin, for the public names, and again only when they change', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flotilla-public-tls-'));
    try {
      const env = { FLOTILLA_PUBLIC_MQTT_URL: 'mqtts://fleet.example.com:8883', FLOTILLA_PUBLIC_API_URL: 'https://[fd00::1]:8443/' };
      const first = await loadOrCreatePublicCertificate(dir, publicNames({ ...env, FLOTILLA_TLS_SAN: 'mq.example.com, 10.0.0.2' }));
      expect(first.created.sort()).toEqual(['ca.pem', 'device-ca.pem', 'public.pem']);
      const cert = new X509Certificate(await readFile(first.certFile, 'utf8'));
      expect(cert.checkIssued(new X509Certificate(await readFile(first.caFile, 'utf8')))).toBe(true);
      expect(cert.checkPrivateKey(createPrivateKey(await readFile(first.keyFile, 'utf8')))).toBe(true);
      for (const name of [
        'DNS:fleet.example.com',
        'DNS:mq.example.com',
        'DNS:localhost',
        'IP Address:10.0.0.2',
        'IP Address:127.0.0.1',
        'IP Address:FD00:0:0:0:0:0:0:1',
      ])
        expect(cert.subjectAltName).toContain(name);

      const again = await loadOrCreatePublicCertificate(dir, publicNames({ ...env, FLOTILLA_TLS_SAN: 'mq.example.com, 10.0.0.2' }));
      expect(again.created).toEqual([]);
      expect(again.fingerprint).toBe(first.fingerprint);
      const renamed = await loadOrCreatePublicCertificate(dir, publicNames({ ...env, FLOTILLA_TLS_SAN: 'other.example.com' }));
      expect(renamed.created).toEqual(['public.pem']);
      expect(new X509Certificate(await readFile(renamed.certFile, 'utf8')).subjectAltName).toContain('DNS:other.example.com');
      expect(() => publicNames({ FLOTILLA_PUBLIC_MQTT_URL: 'not a url' })).toThrow(/FLOTILLA_PUBLIC_MQTT_URL/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
