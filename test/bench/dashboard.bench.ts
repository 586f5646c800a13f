import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startControlPlane } from '../../control-plane/src/bootstrap';
import { DASHBOARD_DIST } from '../../control-plane/src/dashboard/static-app';
import { createTestDatabase, type TestDatabase } from '../../control-plane/src/testing/test-database';
import { launchBrowser } from '../e2e/dashboard/browser';
import { machineLine, median, printTable, runBench } from './machine';

// The device list in a real browser (Debian's Chromium) against a control plane in-process on a
// scratch database: page load to first row, a search, a status filter, the next page. The same
// steps run on 200 devices first (the baseline) and then on `--devices` (default 10,000), so the
// ratio shows what the fleet's size costs. `--rounds` (default 5) repeats each; medians and max.
// Needs `npm run build` (the control plane serves control-plane/dashboard/dist) and the test services.

const flag = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const DEVICES = flag('devices', 10_000);
const ROUNDS = flag('rounds', 5);
const BASELINE = 200;

type Step = 'first render' | 'search' | 'status filter' | 'next page';

/**
 * Devices `from`..`to` (1-based), a third of them offline, as the e2e test makes them: the others
 * online through the running replica (the presence sweep marks offline those held by no live one).
 */
async function addDevices(db: TestDatabase, from: number, to: number): Promise<void> {
  await db.query(
    `INSERT INTO devices (id, name, board, password_hash, online, online_via, last_seen_at, tags, config, desired_rev)
     SELECT 'dev-' || lpad(i::text, 5, '0') || '-' || substr(md5(i::text), 1, 8), 'edge-' || lpad(i::text, 5, '0'), 'rpi4', 'x',
            i % 3 <> 0, CASE WHEN i % 3 <> 0 THEN (SELECT replica FROM replica_heartbeats LIMIT 1) END,
            now() - (i || ' seconds')::interval, ARRAY[]::text[], '{}', 0
       FROM generate_series($1::int, $2::int) AS i`,
    [from, to],
  );
  await db.query('ANALYZE devices');
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** One round of the four steps on a fleet of `count`; the search looks for its last device. */
async function round(page: Page, url: string, count: number): Promise<Record<Step, number>> {
  const last = `edge-${String(count).padStart(5, '0')}`;
  const offlineCount = Math.floor(count / 3);
  const offline = offlineCount.toLocaleString('en-US');
  return {
    'first render': await timed(async () => {
      await page.goto(`${url}/devices`);
      await page.waitForSelector('tr[data-device="edge-00001"]');
    }),
    search: await timed(async () => {
      await page.fill('input[aria-label="Search devices"]', last);
      await page.waitForSelector('[data-testid=device-total]:text-is("1")');
      await page.waitForSelector(`tr[data-device="${last}"]`);
    }),
    'status filter': await timed(async () => {
      await page.fill('input[aria-label="Search devices"]', '');
      await page.selectOption('select[aria-label=Status]', 'offline');
      await page.waitForSelector(`[data-testid=device-total]:text-is("${offline}")`);
    }),
    'next page': await timed(async () => {
      await page.click('button:has-text("Next →")');
      await page.waitForSelector(`text=51–${Math.min(100, offlineCount).toLocaleString('en-US')} of ${offline}`);
    }),
  };
}

async function main(): Promise<void> {
  if (!existsSync(join(DASHBOARD_DIST, 'index.html'))) throw new Error(`no built dashboard in ${DASHBOARD_DIST}: run npm run build first`);
  console.log(machineLine());
  console.log(`devices: ${BASELINE} (baseline), then ${DEVICES}; ${ROUNDS} rounds each\n`);
  const key = `dashboard-bench-${randomUUID()}`;
  const db = await createTestDatabase();
  const dataDir = await mkdtemp(join(tmpdir(), 'flotilla-dashboard-bench-'));
  const cp = await startControlPlane(
    { host: '127.0.0.1', port: 0, mqttPort: 0, databaseUrl: db.url, dataDir, apiKey: key },
    { logLevels: ['error'] },
  );
  const browser = await launchBrowser();
  try {
    const page = await browser.context.newPage();
    await page.goto(cp.httpUrl);
    await page.fill('input[name=key]', key);
    await page.click('button[type=submit]');
    await page.waitForSelector('h2:has-text("Fleet overview")');

    const measure = async (count: number): Promise<Record<Step, number[]>> => {
      const runs: Record<Step, number[]> = { 'first render': [], search: [], 'status filter': [], 'next page': [] };
      for (let r = 0; r < ROUNDS; r++) {
        const one = await round(page, cp.httpUrl, count);
        for (const step of Object.keys(runs) as Step[]) runs[step].push(one[step]);
      }
      return runs;
    };
    await addDevices(db, 1, BASELINE);
    const small = await measure(BASELINE);
    await addDevices(db, BASELINE + 1, DEVICES);
    const large = await measure(DEVICES);

    printTable(
      (Object.keys(small) as Step[]).map((step) => ({
        step,
        [`${BASELINE} devices median ms`]: median(small[step]),
        [`${DEVICES} devices median ms`]: median(large[step]),
        [`${DEVICES} max ms`]: Math.max(...large[step]),
        ratio: median(large[step]) / median(small[step]),
      })),
    );
    console.log('\nsearch includes the 200 ms typing debounce.');
  } finally {
    await browser.close();
    await cp.close();
    await db.drop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

runBench(main);
