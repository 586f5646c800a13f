import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page as BrowserPage } from 'playwright-core';
import type { OsStatus, RolloutView } from '@flotilla/shared';
import { startControlPlane, type RunningControlPlane } from '../../../control-plane/src/bootstrap';
import { DASHBOARD_DIST } from '../../../control-plane/src/dashboard/static-app';
import { SimDevice } from '../../../control-plane/src/testing/sim-device';
import { apiClient, json, manifest, publishRelease, registerDevices, until, type Api } from '../../../control-plane/src/testing/sim-fleet';
import { createTestDatabase, type TestDatabase } from '../../../control-plane/src/testing/test-database';
import { ARTIFACTS, launchBrowser, type Browser } from './browser';
import {
  RECORD_VIOLATIONS,
  ZALGO,
  COMPONENTS_AND_DISKS,
  INNER_HTML_TAKES_STRINGS,
  KERNEL_READS_LEFT_TO_RIGHT,
  PAGE_FINDINGS,
  markup,
  type PageFindings,
  startHostileDevice,
  type HostileDevice,
} from './hostile-device';

/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core) against a control
 * plane started in-process, with protocol-speaking simulated devices over real MQTT.
 * Needs `npm run build` first: the control plane serves control-plane/dashboard/dist.
 */
jest.setTimeout(120_000);

const KEY = `dashboard-e2e-${randomUUID()}`;
let db: TestDatabase;
let dataDir: string;
let cp: RunningControlPlane;
let api: Api;
let browser: Browser;
let page: BrowserPage;
const devices: SimDevice[] = [];
let hostile: HostileDevice | undefined;
/** What Chromium said about the Content-Security-Policy (a refused script, style or Trusted Types sink), on any page. */
const cspComplaints: string[] = [];

async function startDevices(
  count: number,
  prefix: string,
  behavior: 'commit' | 'rollback' = 'commit',
  os?: OsStatus,
): Promise<SimDevice[]> {
  const registered = await registerDevices(api, count, prefix);
  const started = await Promise.all(
    registered.map((d) =>
      new SimDevice({
        mqttUrl: cp.mqttUrl,
        deviceId: d.deviceId,
        password: d.password,
        behavior: () => behavior,
        updateMs: 400,
        os,
        inventory: true,
        events: true,
        telemetryEveryMs: 300,
      }).start(),
    ),
  );
  devices.push(...started);
  return started;
}

const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

beforeAll(async () => {
  if (!existsSync(join(DASHBOARD_DIST, 'index.html'))) throw new Error(`no built dashboard in ${DASHBOARD_DIST}: run npm run build first`);
  db = await createTestDatabase();
  dataDir = await mkdtemp(join(tmpdir(), 'flotilla-dashboard-e2e-'));
  cp = await startControlPlane({ host: '127.0.0.1', port: 0, mqttPort: 0, databaseUrl: db.url, dataDir, apiKey: KEY });
  api = apiClient(() => cp.httpUrl, KEY);
  browser = await launchBrowser();
  page = await browser.context.newPage();
  page.on('console', (m) => /Content Security Policy|Trusted ?(HTML|Script|Type)/i.test(m.text()) && cspComplaints.push(m.text()));
});

afterAll(async () => {
  await Promise.all([...devices, ...(hostile ? [hostile] : [])].map((d) => d.stop().catch(() => undefined)));
  await browser?.close();
  await cp?.close();
  await db?.drop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('dashboard', () => {
  it('refuses a wrong key, then signs in with the operator key', async () => {
    await page.goto(cp.httpUrl);
    await page.fill('input[name=key]', 'fok_wrong');
    await page.click('button[type=submit]');
    await page.waitForSelector('text=That key is not valid');
    await page.fill('input[name=key]', KEY);
    await page.click('button[type=submit]');
    await page.waitForSelector('h2:has-text("Fleet overview")');
    await page.waitForSelector('[data-testid=live]:has-text("live")');
    expect(await page.evaluate("sessionStorage.getItem('flotilla.operatorKey')")).toBe(KEY);
  });

  it('shows a device that connects without a reload', async () => {
    await page.click('nav >> text=Devices');
    await page.waitForSelector('[data-testid=device-total]:has-text("0")');
    const navigations: string[] = [];
    page.on('framenavigated', (f) => navigations.push(f.url()));
    await startDevices(1, 'kiosk');
    await page.waitForSelector('tr[data-device="kiosk-0"] >> text=online', { timeout: 15_000 });
    expect(navigations).toEqual([]);
    await page.click('nav >> text=Overview');
    await page.waitForSelector('[data-testid=stat-online]:has-text("1")');
  });

  it('shows the validation errors of an invalid assembly in place, and publishes a valid one', async () => {
    await page.click('nav >> text=Releases');
    await page.fill(
      'textarea[aria-label="assembly.yaml"]',
      'name: origin\nx-flotilla: { version: 1.0.0 }\nservices:\n  web:\n    image: 42\n',
    );
    await page.click('button:has-text("Publish")');
    const error = await page.waitForSelector('[data-testid=upload-error]');
    expect(await error.textContent()).toMatch(/services\.web\.image/);
    await shot('release-invalid');
    await page.fill('textarea[aria-label="assembly.yaml"]', manifest('1.0.0'));
    await page.click('button:has-text("Publish")');
    await page.waitForSelector('h2:has-text("origin") >> text=1.0.0');
    await page.waitForSelector('td:has-text("web")');
  });

  it('plans a rollout, starts it and shows it progress to completed', async () => {
    const fleet = await startDevices(3, 'shelf');
    const release = await publishRelease(api, '1.1.0');
    await page.goto(`${cp.httpUrl}/rollouts/new?releaseId=${release.id}`);
    await page.waitForSelector(`select[aria-label=Release] >> option[value="${release.id}"]`, { state: 'attached' });
    await page.selectOption('select[aria-label=Release]', release.id);
    await page.fill('input[aria-label="Rollout name"]', 'shelf to 1.1.0');
    await page.fill('input[aria-label="Selection devices"]', fleet.map((d) => d.deviceId).join(', '));
    await page.click('button:has-text("Dry run")');
    const plan = await page.waitForSelector('[data-testid=plan]');
    expect(await plan.textContent()).toContain('3 devices to 1.1.0');
    await shot('rollout-plan');
    await page.click('button:has-text("Start rollout")');
    await page.waitForSelector('[data-testid=rollout-status]:has-text("completed")', { timeout: 60_000 });
    expect(await page.textContent('[data-testid=rollout-total] + .sub')).toContain('3/3 done');
    await shot('rollout-completed');
    await page.click('nav >> text=Overview');
    await page.waitForSelector('.barlist >> text=origin 1.1.0');
    await page.waitForSelector('[data-testid=stat-online]:has-text("4")');
    await shot('overview');

    await page.click('nav >> text=Releases');
    await page.check('input[aria-label="from 1.0.0"]');
    await page.check('input[aria-label="to 1.1.0"]');
    await page.click('button:has-text("Diff selected")');
    const diff = await page.waitForSelector('[data-testid=diff]');
    expect(await page.textContent('h2')).toBe('origin 1.0.0 → origin 1.1.0');
    expect(await diff.textContent()).toContain('= web');
  });

  it('shows a canary that rolled back as failed, with its reason', async () => {
    // The canary also writes an OS image into its other root slot, half done.
    const [canary] = await startDevices(1, 'canary', 'rollback', {
      version: '1.0.0',
      slot: 'A',
      inTrial: false,
      phase: 'write',
      target: '2.0.0',
      lastFailure: null,
      progress: { bytesDone: 96 * 2 ** 20, bytesTotal: 192 * 2 ** 20, percent: 50 },
    });
    const release = await publishRelease(api, '2.0.0-bad');
    const rollout = await json<RolloutView>(
      api('/api/v1/rollouts', {
        method: 'POST',
        body: JSON.stringify({
          releaseId: release.id,
          name: 'bad canary',
          selection: { deviceIds: [canary!.deviceId] },
          phases: [{ name: 'canary', count: 1, successThreshold: 100, failureThreshold: 0, onFailure: 'abort' }],
        }),
      }),
      201,
    );
    await page.goto(`${cp.httpUrl}/rollouts/${rollout.id}`);
    await page.waitForSelector('[data-testid=rollout-status]:has-text("aborted")', { timeout: 60_000 });
    const reason = await page.waitForSelector('[data-testid=failure-reason]');
    expect((await reason.textContent())?.length).toBeGreaterThan(3);
    expect(await page.textContent('[data-testid=rollout-reason]')).toBeTruthy();
    await shot('rollout-canary-failed');
    await page.goto(`${cp.httpUrl}/devices/${canary!.deviceId}`);
    await page.waitForSelector('[data-testid=timeline] >> text=update-rolled-back');
    await page.waitForSelector('[data-testid=device-status]:has-text("failed")');
    expect(await page.textContent('[data-testid=agent-version]')).toBe('sim-0.1.0');
    expect(await page.textContent('[data-testid=os-status]')).toMatch(
      /OS 1\.0\.0 on slot A.*write → 2\.0\.0.*96\.0 MiB of 192\.0 MiB written/,
    );
    expect(await page.getAttribute('[data-testid=os-progress]', 'aria-valuenow')).toBe('50');
    // The charts poll every 5 s: the screenshot waits for a line (two samples or more), not a point.
    await page.waitForSelector('[data-testid=chart-CPU] path[fill=none][d*="L"]', { timeout: 20_000 });
    await shot('device');
  });

  // What this costs in time is a benchmark (`npm run bench -- dashboard`, BENCHMARKS.md); here, what it shows.
  it('lists 10,000 devices, and searches, filters and pages through them', async () => {
    // Online through the running replica: the presence sweep marks offline any device held by no live one.
    await db.query(
      `INSERT INTO devices (id, name, board, password_hash, online, online_via, last_seen_at, tags, config, desired_rev)
       SELECT 'dev-' || lpad(i::text, 5, '0') || '-' || substr(md5(i::text), 1, 8), 'edge-' || lpad(i::text, 5, '0'), 'rpi4', 'x',
              i % 3 <> 0, CASE WHEN i % 3 <> 0 THEN (SELECT replica FROM replica_heartbeats LIMIT 1) END,
              now() - (i || ' seconds')::interval, CASE WHEN i % 10 = 0 THEN ARRAY['lab'] ELSE ARRAY[]::text[] END, '{}', 0
         FROM generate_series(1, 10000) AS i`,
    );
    expect(await db.query(`SELECT count(*)::int AS n FROM replica_heartbeats`)).toEqual([{ n: 1 }]);
    await db.query('ANALYZE devices');
    await page.goto(`${cp.httpUrl}/devices`);
    await page.waitForSelector('tr[data-device="edge-00001"]');
    expect(Number((await page.textContent('[data-testid=device-total]'))!.replace(/,/g, ''))).toBeGreaterThanOrEqual(10_000);
    await shot('devices-10k');

    await page.fill('input[aria-label="Search devices"]', 'edge-09999');
    await page.waitForSelector('[data-testid=device-total]:text-is("1")');
    await page.waitForSelector('tr[data-device="edge-09999"]');

    await page.fill('input[aria-label="Search devices"]', '');
    await page.selectOption('select[aria-label=Status]', 'offline');
    await page.waitForSelector('[data-testid=device-total]:text-is("3,333")');

    await page.click('button:has-text("Next →")');
    await page.waitForSelector('text=51–100 of 3,333');
  });

  // After the 10,000: their counts assume no other device. The threat: a device's own strings.
  it('shows what a hostile device reports as text: no script, no markup, the page stays within the window', async () => {
    const dialogs: string[] = [];
    page.on('dialog', (d) => void (dialogs.push(d.message()), d.dismiss()));
    await page.addInitScript(RECORD_VIOLATIONS);
    hostile = await startHostileDevice(api, cp.mqttUrl);
    await page.goto(`${cp.httpUrl}/devices?q=${hostile.deviceId}`);
    await page.waitForSelector('[data-testid=device-total]:text-is("1")');
    const list = (await page.evaluate(PAGE_FINDINGS)) as PageFindings;
    expect({ ...list, text: [1, 2].filter((n) => !list.text.includes(markup(n))) }).toEqual({
      xss: undefined,
      injected: 0,
      overflowPx: 0,
      longestMarkRun: 0,
      squeezedButtons: 0,
      violations: [],
      text: [],
    });

    await page.goto(`${cp.httpUrl}/devices/${hostile.deviceId}`);
    await page.waitForSelector(`[data-testid=timeline] >> text=${ZALGO.slice(0, 3)}`);
    await page.waitForSelector('.inventory');
    await page.click('button:has-text("Identify")');
    await page.locator('.command .ok', { hasText: markup(24) }).waitFor();
    await page.selectOption('select[aria-label="Log component"]', { index: 1 });
    await page.waitForSelector('.logtail pre >> text=WWWW');
    const shown = [1, 4, 5, 7, 8, 9, 10, 11, 14, 16, 18, 19, 20, 21, 22, 23, 24];
    const device = (await page.evaluate(PAGE_FINDINGS)) as PageFindings;
    expect({ ...device, text: shown.filter((n) => !device.text.includes(markup(n))) }).toEqual({
      xss: undefined,
      injected: 0,
      overflowPx: 0,
      longestMarkRun: 4,
      squeezedButtons: 0,
      violations: [],
      text: [],
    });
    expect(await page.evaluate(KERNEL_READS_LEFT_TO_RIGHT)).toBe(true);
    expect(dialogs).toEqual([]);
    // Every page of this file ran under the policy without a complaint (the probe below makes one).
    expect(cspComplaints).toEqual([]);
    expect(await page.evaluate(INNER_HTML_TAKES_STRINGS)).toBe(false);

    // Its components and disks came twice under each name; now one other of each: the page shows just that one.
    const counts = () => page.evaluate(COMPONENTS_AND_DISKS);
    expect(await counts()).toBe('4 components, 4 disks');
    await hostile.reportOnce('agent-once');
    await page.locator('[data-testid=agent-version]', { hasText: /^agent-once$/ }).waitFor();
    // The inventory may be stored a moment after the report, and a live event then re-reads the device.
    await until(async () => (await counts()) === '1 components, 1 disks', 5_000, 'the page to show the one component and disk');
  });
});
