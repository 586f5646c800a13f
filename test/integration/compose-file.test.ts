import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parse } from 'yaml';

// Integration depth: Debian's docker-compose (installed by test/setup/ensure-services.sh)
// parses and validates docker-compose.yml; nothing is started.
const root = join(__dirname, '..', '..');

// The image tags deploy/build-images.sh writes; any tag does for validation.
const images = Object.fromEntries(
  ['POSTGRES', 'CONTROL_PLANE', 'REGISTRY', 'AGENT'].map((role) => [
    `FLOTILLA_IMAGE_${role}`,
    `flotilla-deploy/${role.toLowerCase()}:test`,
  ]),
);

function composeConfig(env: Record<string, string>, file = 'docker-compose.yml'): string {
  return execFileSync('docker-compose', ['-f', file, 'config'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...images, ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

describe('docker-compose.yml', () => {
  it('is a valid Compose file with the production services', () => {
    const config = parse(composeConfig({ FLOTILLA_API_KEY: 'k' })) as {
      services: Record<string, { volumes?: Array<string | { source: string; target: string }> }>;
    };
    expect(Object.keys(config.services).sort()).toEqual(['agent', 'control-plane', 'postgres', 'registry']);
    const agentMounts = (config.services.agent!.volumes ?? []).map((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`));
    expect(agentMounts).toContainEqual(expect.stringMatching(/^\/var\/run\/docker\.sock:\/var\/run\/docker\.sock/));
  });

  it('refuses to start without an operator key', () => {
    expect(() => composeConfig({})).toThrow(/set FLOTILLA_API_KEY/);
  });

  it('refuses to start without the offline-built images', () => {
    expect(() => composeConfig({ FLOTILLA_API_KEY: 'k', FLOTILLA_IMAGE_CONTROL_PLANE: '' })).toThrow(/run deploy\/build-images\.sh/);
  });
});
