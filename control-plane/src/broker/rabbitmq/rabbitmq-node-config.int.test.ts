import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RABBITMQ_NODE_TUNING, RABBITMQ_PLUGINS } from './rabbitmq-node-config';

const HA = join(__dirname, '..', '..', '..', '..', 'deploy', 'ha', 'rabbitmq');

describe('the RabbitMQ node configuration Flotilla ships', () => {
  it('is what deploy/ha runs: every tuning line in its rabbitmq.conf, the same plugins', () => {
    const conf = readFileSync(join(HA, 'rabbitmq.conf'), 'utf8').split('\n');
    expect(RABBITMQ_NODE_TUNING.filter((line) => !conf.includes(line))).toEqual([]);
    expect(readFileSync(join(HA, 'enabled_plugins'), 'utf8').trim()).toBe(`[${RABBITMQ_PLUGINS.join(',')}].`);
  });
});
