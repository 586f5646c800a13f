import { loadRabbitMqConfig } from './rabbitmq-config';

const MQTT = 'mqtts://broker.example:8883';

describe('FLOTILLA_BROKER=rabbitmq configuration', () => {
  it('is embedded unless asked, and refuses an unknown mode', () => {
    expect(loadRabbitMqConfig({}, undefined)).toBeUndefined();
    expect(loadRabbitMqConfig({ FLOTILLA_BROKER: 'embedded' }, undefined)).toBeUndefined();
    expect(() => loadRabbitMqConfig({ FLOTILLA_BROKER: 'nats' }, MQTT)).toThrow(/"embedded" or "rabbitmq"/);
  });

  it('reads every node and applies the defaults', () => {
    const settings = loadRabbitMqConfig(
      {
        FLOTILLA_BROKER: 'rabbitmq',
        FLOTILLA_RABBITMQ_URL: 'amqp://u:p@a:5672, amqp://u:p@b:5672',
        FLOTILLA_RABBITMQ_MANAGEMENT_URL: 'http://u:p@a:15672',
      },
      MQTT,
    );
    expect(settings).toEqual({
      amqpUrls: ['amqp://u:p@a:5672', 'amqp://u:p@b:5672'],
      managementUrls: ['http://u:p@a:15672'],
      deviceMqttUrl: MQTT,
      authListener: { host: '127.0.0.1', port: 8089 },
      vhost: '/',
      prefetch: 2048,
    });
  });

  it('says what is missing or malformed', () => {
    expect(() => loadRabbitMqConfig({ FLOTILLA_BROKER: 'rabbitmq' }, MQTT)).toThrow(/FLOTILLA_RABBITMQ_URL/);
    expect(() => loadRabbitMqConfig({ FLOTILLA_BROKER: 'rabbitmq', FLOTILLA_RABBITMQ_URL: 'amqp://a' }, undefined)).toThrow(
      /FLOTILLA_PUBLIC_MQTT_URL/,
    );
    expect(() =>
      loadRabbitMqConfig({ FLOTILLA_BROKER: 'rabbitmq', FLOTILLA_RABBITMQ_URL: 'amqp://a' }, 'mqtt://broker.example:1883'),
    ).toThrow(/mqtts:\/\//);
    expect(() => loadRabbitMqConfig({ FLOTILLA_BROKER: 'rabbitmq', FLOTILLA_RABBITMQ_URL: 'http://a' }, MQTT)).toThrow(
      /FLOTILLA_RABBITMQ_URL/,
    );
    expect(() =>
      loadRabbitMqConfig({ FLOTILLA_BROKER: 'rabbitmq', FLOTILLA_RABBITMQ_URL: 'amqp://a', FLOTILLA_BROKER_AUTH_PORT: 'x' }, MQTT),
    ).toThrow(/FLOTILLA_BROKER_AUTH_PORT/);
  });
});
