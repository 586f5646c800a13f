import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { Release } from '@flotilla/shared';
import { strictFake } from '../testing/strict-fake';
import { RegistriesService } from './registries.service';
import type { RegistryCredentialsRepository, RegistryCredentialsRow } from './registry-credentials.repository';
import { InvalidRegistryHostError } from './registries.errors';
import { SecretBox } from './secret-box';

const DIGEST = `sha256:${'d'.repeat(64)}`;
const release = (...images: string[]) =>
  ({ assembly: { components: images.map((image, i) => ({ name: `c${i}`, image })) } }) as unknown as Pick<Release, 'assembly'>;

/** A service over a fake table holding `rows` (sealed with the service's own key), recording each read. */
function setup(rows: (box: SecretBox) => RegistryCredentialsRow[] = () => []) {
  const box = new SecretBox(randomBytes(32));
  const table = rows(box);
  const reads: string[][] = [];
  const repository = strictFake<RegistryCredentialsRepository>('RegistryCredentialsRepository', {
    findByRegistries: async (registries) => {
      reads.push([...registries]);
      return table.filter((r) => registries.includes(r.registry));
    },
  });
  return { service: new RegistriesService(repository, box), reads };
}

const row = (box: SecretBox, registry: string, password: string): RegistryCredentialsRow => ({
  registry,
  username: 'u',
  passwordSealed: box.seal(password, registry),
  updatedAt: new Date(),
  updatedBy: 'bootstrap',
});

describe('RegistriesService.lookup', () => {
  beforeAll(() => Logger.overrideLogger(false));

  it('reads each registry once for a whole batch of releases, and opens the sealed passwords', async () => {
    const { service, reads } = setup((box) => [row(box, '127.0.0.1:5001', 'p1')]);
    const lookup = service.lookup();
    const a = release(`127.0.0.1:5001/a@${DIGEST}`, `127.0.0.1:5000/b@${DIGEST}`);
    expect(await lookup(a)).toEqual([{ registry: '127.0.0.1:5001', username: 'u', password: 'p1' }]);
    expect(await lookup(a)).toHaveLength(1);
    expect(await lookup(release(`127.0.0.1:5000/c@${DIGEST}`))).toEqual([]);
    expect(await lookup(null)).toEqual([]);
    expect(reads).toEqual([['127.0.0.1:5000'], ['127.0.0.1:5001']]);
  });

  it('leaves out a login whose sealed password does not open (another key), rather than failing the publish', async () => {
    const { service } = setup(() => [row(new SecretBox(randomBytes(32)), '127.0.0.1:5001', 'p1')]);
    expect(await service.lookup()(release(`127.0.0.1:5001/a@${DIGEST}`))).toEqual([]);
  });
});

describe('RegistriesService.set', () => {
  it('refuses a host that image references could not name, before touching the database', async () => {
    const { service } = setup();
    await expect(
      service.set('https://registry.example.com', { username: 'a', password: 'b' }, { id: 'k', name: 'k', role: 'admin' }),
    ).rejects.toThrow(InvalidRegistryHostError);
  });
});
