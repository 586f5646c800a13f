import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ComponentView, ReleaseView } from '@flotilla/shared';
import { startControlPlane, type RunningControlPlane } from '../bootstrap';
import { REPO_COMPONENTS_DIR } from '../config';
import { createTestDatabase, type TestDatabase } from '../testing/test-database';

// Integration: real PostgreSQL and the local registry (127.0.0.1:5000), where
// test/setup/build-origin-images.sh pushed origin's components as manifest lists.
jest.setTimeout(60_000);

const apiKey = 'seed-test-operator-key-0123456789';
let db: TestDatabase;
let dataDir: string;

function start(componentsDir: string): Promise<RunningControlPlane> {
  return startControlPlane(
    { host: '127.0.0.1', port: 0, mqttPort: 0, dataDir, databaseUrl: db.url, apiKey, componentsDir },
    { logLevels: ['error'] },
  );
}

async function get<T>(cp: RunningControlPlane, path: string): Promise<T> {
  const res = await fetch(`${cp.httpUrl}/api/v1${path}`, { headers: { authorization: `Bearer ${apiKey}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = mkdtempSync(join(tmpdir(), 'flotilla-seed-'));
});

afterAll(async () => {
  await db.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('seeding the library with origin components', () => {
  it('pins each component to its manifest list digest, idempotently, and origin then publishes with one call', async () => {
    let cp = await start(REPO_COMPONENTS_DIR);
    try {
      expect(cp.seeded).toEqual([
        { component: 'device-status@1.0.0', status: 'created' },
        { component: 'mqtt-broker@1.0.0', status: 'created' },
        { component: 'sensor-sim@1.0.0', status: 'created' },
      ]);
      const components = await get<ComponentView[]>(cp, '/components');
      const images = JSON.parse(readFileSync(join(REPO_COMPONENTS_DIR, '..', 'assemblies', 'origin', '.images.json'), 'utf8')) as {
        components: Record<string, { image: string }>;
      };
      for (const c of components) {
        expect(c.image).toBe(images.components[c.name]!.image);
      }
    } finally {
      await cp.close();
    }

    cp = await start(REPO_COMPONENTS_DIR);
    try {
      expect(cp.seeded.map((s) => s.status)).toEqual(['already-published', 'already-published', 'already-published']);
      const res = await fetch(`${cp.httpUrl}/api/v1/releases`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/yaml' },
        body: readFileSync(join(REPO_COMPONENTS_DIR, '..', 'assemblies', 'origin', 'assembly.yaml'), 'utf8'),
      });
      expect(res.status).toBe(201);
      const release = (await res.json()) as ReleaseView;
      expect(release.assembly.components.map((c) => c.name)).toEqual(['device-status', 'mqtt-broker', 'sensor-sim']);
      expect(release.assembly.components.every((c) => /@sha256:[0-9a-f]{64}$/.test(c.image))).toBe(true);
    } finally {
      await cp.close();
    }
  });

  it('skips, with a reason, a component whose image the registry does not have, and still starts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-components-'));
    mkdirSync(join(dir, 'ghost'));
    writeFileSync(
      join(dir, 'ghost', 'component.yaml'),
      'name: ghost\nversion: 1.0.0\nimage: 127.0.0.1:5000/flotilla/no-such-image:1.0.0\n',
    );
    const cp = await start(dir);
    try {
      expect(cp.seeded).toEqual([
        { component: 'ghost', status: 'skipped', reason: expect.stringMatching(/answered 404.*build-origin-images/) },
      ]);
    } finally {
      await cp.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
