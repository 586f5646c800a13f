import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { ModulesContainer, NestFactory } from '@nestjs/core';
import { API_ROUTES, type AuditEntryView, type CreatedOperatorKey, type Page } from '@flotilla/shared';
import { AppModule } from '../app.module';
import { apiClient, json, type Api } from '../testing/sim-fleet';
import { createTestDatabase, type TestDatabase } from '../testing/test-database';
import { buildOpenApiDocument, toOpenApiPath, type OpenApiDocument } from './build-document';
import { registeredRoutes, validatedBodies, type RegisteredRoute } from './registered-routes';

jest.setTimeout(60_000);

const ADMIN_KEY = 'api-surface-admin-key-0123456789';
const SOME_ID = '00000000-0000-4000-8000-000000000000';

let db: TestDatabase;
let dataDir: string;
let app: INestApplication;
let api: Api;
let routes: RegisteredRoute[];
let viewerKey: string;
let operatorKey: string;

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = await mkdtemp(join(tmpdir(), 'flotilla-surface-'));
  app = await NestFactory.create(
    AppModule.forRoot({ databaseUrl: db.url, apiKey: ADMIN_KEY, broker: { host: '127.0.0.1', port: 0 }, dataDir }),
    { logger: ['error'] },
  );
  await app.listen(0, '127.0.0.1');
  const url = await app.getUrl();
  api = apiClient(() => url.replace('[::1]', '127.0.0.1'), ADMIN_KEY);
  routes = registeredRoutes(app.get(ModulesContainer));
  const key = async (role: string) =>
    (
      await json<CreatedOperatorKey>(
        api('/api/v1/operators/keys', { method: 'POST', body: JSON.stringify({ name: `${role} key`, role }) }),
        201,
      )
    ).key;
  viewerKey = await key('viewer');
  operatorKey = await key('operator');
});
afterAll(async () => {
  await app?.close();
  await db?.drop();
  await rm(dataDir, { recursive: true, force: true });
});

const concrete = (path: string) => path.replace(/:[A-Za-z0-9_]+/g, SOME_ID);
const call = (r: RegisteredRoute, key: string | null) =>
  api(concrete(r.path), { method: r.method.toUpperCase(), key, ...(r.method === 'get' || r.method === 'delete' ? {} : { body: '{}' }) });
const isRead = (r: RegisteredRoute) => r.method === 'get';
const adminOnly = (r: RegisteredRoute) =>
  r.path.startsWith('/api/v1/operators/') ||
  r.path.startsWith('/api/v1/registries') ||
  (r.method === 'put' && r.path.endsWith('/host-policy')) ||
  r.path.endsWith('/signing-keys/:id/revoke') ||
  r.path.endsWith('/signing-keys/rotate');

describe('the API surface', () => {
  it('has routes to check (sanity)', () => {
    expect(routes.length).toBeGreaterThan(30);
    expect(routes).toContainEqual({ method: 'post', path: '/api/v1/rollouts/:id/pause', isPublic: false, params: { id: 'uuid' } });
  });

  it('declares the kind of every path parameter (@PathParam), so a malformed one is a 400 before any query', () => {
    const undeclared = routes.flatMap((r) =>
      Object.entries(r.params).flatMap(([p, kind]) => (kind ? [] : [`${r.method} ${r.path} :${p}`])),
    );
    expect(undeclared).toEqual([]);
  });

  it('documents every registered route in the OpenAPI document, and documents no route that does not exist', async () => {
    const doc = await json<OpenApiDocument>(api('/api/v1/openapi.json', { key: null }), 200);
    const documented = new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`)));
    const registered = new Set(routes.map((r) => `${r.method} ${toOpenApiPath(r.path)}`));
    expect([...registered].filter((r) => !documented.has(r))).toEqual([]);
    expect([...documented].filter((r) => !registered.has(r))).toEqual([]);
    for (const r of routes) {
      const op = doc.paths[toOpenApiPath(r.path)]![r.method] as { 'x-flotilla-role': string };
      expect([r.path, op['x-flotilla-role'] === 'public']).toEqual([r.path, r.isPublic]);
    }
  });

  it('generates the document from the routes the controllers bind, and binds every declared route', async () => {
    const doc = await json<OpenApiDocument>(api('/api/v1/openapi.json', { key: null }), 200);
    const declared = buildOpenApiDocument(API_ROUTES, doc.info.version);
    expect(doc.paths).toEqual(declared.paths);
    expect(doc.components).toEqual(declared.components);
  });

  it('validates each JSON body with the schema its route declares, so the document describes what is checked', () => {
    const mismatched = validatedBodies(app.get(ModulesContainer)).flatMap(({ route, schemas }) => {
      const declared = route.body && 'schema' in route.body ? route.body.schema : undefined;
      const same = declared ? schemas.length === 1 && schemas[0] === declared : schemas.length === 0;
      return same ? [] : [`${route.method} ${route.path}`];
    });
    expect(mismatched).toEqual([]);
  });

  it('documents for each route the role the guard enforces (proven by the calls below)', async () => {
    const doc = await json<OpenApiDocument>(api('/api/v1/openapi.json', { key: null }), 200);
    for (const r of routes.filter((x) => !x.isPublic)) {
      const role = (doc.paths[toOpenApiPath(r.path)]![r.method] as { 'x-flotilla-role': string })['x-flotilla-role'];
      expect([r.method, r.path, role]).toEqual([r.method, r.path, adminOnly(r) ? 'admin' : isRead(r) ? 'viewer' : 'operator']);
    }
  });

  it('serves the interactive docs as a self-contained page', async () => {
    const res = await api('/api/docs', { key: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    const html = await res.text();
    expect(html).toContain('/api/v1/openapi.json');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href="http/);
  });

  it('refuses every non-public route without a key, or with an unknown key, with the one error shape', async () => {
    const guarded = routes.filter((r) => !r.isPublic);
    for (const r of guarded) {
      for (const key of [null, 'fok_not-a-real-key']) {
        const res = await call(r, key);
        expect([r.method, r.path, res.status]).toEqual([r.method, r.path, 401]);
        expect(await res.json()).toEqual({ statusCode: 401, code: 'unauthorized', message: expect.any(String) });
      }
    }
  });

  it('lets a viewer read but change nothing', async () => {
    for (const r of routes.filter((x) => !x.isPublic)) {
      const res = await call(r, viewerKey);
      if (isRead(r) && !adminOnly(r)) expect([r.method, r.path, [401, 403].includes(res.status)]).toEqual([r.method, r.path, false]);
      else expect([r.method, r.path, res.status]).toEqual([r.method, r.path, 403]);
    }
  });

  it('lets an operator change things but not manage keys', async () => {
    for (const r of routes.filter((x) => !x.isPublic)) {
      const res = await call(r, operatorKey);
      expect([r.method, r.path, res.status === 403]).toEqual([r.method, r.path, adminOnly(r)]);
    }
  });

  it('audits changes with who, what, before and after, and never the secrets; a revoked key stops working', async () => {
    const created = await json<CreatedOperatorKey>(
      api('/api/v1/operators/keys', { method: 'POST', body: JSON.stringify({ name: 'ci', role: 'operator' }) }),
      201,
    );
    expect((await api('/api/v1/rollouts', { key: created.key })).status).toBe(200);
    await json(api(`/api/v1/operators/keys/${created.id}`, { method: 'DELETE' }), 200);
    expect((await api('/api/v1/rollouts', { key: created.key })).status).toBe(401);
    const audit = await json<Page<AuditEntryView>>(api('/api/v1/audit?limit=5'), 200);
    const [revoked, made] = audit.items;
    expect(revoked).toMatchObject({
      action: 'DELETE /api/v1/operators/keys/:id',
      target: created.id,
      actor: { id: 'bootstrap', role: 'admin' },
      statusCode: 200,
    });
    expect(made).toMatchObject({ action: 'POST /api/v1/operators/keys', after: { id: created.id, key: '[redacted]' } });
    expect(JSON.stringify(audit)).not.toContain(created.key);
    const viewerCannot = await api('/api/v1/operators/keys', { key: viewerKey });
    expect(viewerCannot.status).toBe(403);
  });

  it('serves /readyz and Prometheus /metrics', async () => {
    expect(await json(api('/readyz', { key: null }), 200)).toEqual({ ready: true, database: 'up', migrations: 'done', broker: 'up' });
    const probe = `/api/v1/rollouts/${SOME_ID}/resume`;
    for (let i = 0; i < 2; i++) expect((await api(probe, { method: 'POST', key: null })).status).toBe(401);
    expect((await api('/api/v1/rollouts')).status).toBe(200);
    const res = await api('/metrics', { key: viewerKey });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('flotilla_devices_online 0');
    expect(text).toContain('flotilla_rollouts{status="running"} 0');
    expect(text).toMatch(/flotilla_http_requests_total\{method="GET",route="\/api\/v1\/rollouts",status="200"\} \d+/);
    // Requests a guard refused are counted too, under their route.
    expect(text).toMatch(/flotilla_http_requests_total\{method="POST",route="\/api\/v1\/rollouts\/:id\/resume",status="401"\} \d+/);
  });
});
