import { randomUUID } from 'node:crypto';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Client } from 'pg';
import { DatabaseModule } from '../database/database.module';
import { createTestDatabase, type TestDatabase } from '../testing/test-database';
import { LeaseLostError, RolloutLeaseRepository } from './rollout-lease.repository';
import { RolloutRepository } from './rollout.repository';

/** Leases and their fencing against a real PostgreSQL: two holders stand for two replicas. */
let db: TestDatabase;
let app: INestApplicationContext;
let leases: RolloutLeaseRepository;
let rollouts: RolloutRepository;
const releaseId = randomUUID();
const LEASE_MS = 60_000;

beforeAll(async () => {
  db = await createTestDatabase();
  @Module({ imports: [DatabaseModule.forRoot(db.url)], providers: [RolloutRepository, RolloutLeaseRepository] })
  class LeaseTestModule {}
  app = await NestFactory.createApplicationContext(LeaseTestModule, { logger: ['error'] });
  leases = app.get(RolloutLeaseRepository);
  rollouts = app.get(RolloutRepository);
  await db.query(
    `INSERT INTO releases (id, name, version, digest, manifest_yaml, assembly) VALUES ($1, 'origin', '1.0.0', 'sha256:x', '', '{}')`,
    [releaseId],
  );
});
afterAll(async () => {
  await app?.close();
  await db?.drop();
});

async function rollout(): Promise<string> {
  const id = randomUUID();
  await db.query(
    `INSERT INTO rollouts (id, name, release_id, selection, phases, status, advance, current_phase, device_timeout_ms, request_digest, created_by)
     VALUES ($1, 'r', $2, '{}', '[]', 'running', 'auto', 0, 60000, 'd', 'test')`,
    [id, releaseId],
  );
  return id;
}

/** The lease's time is up, as if `LEASE_MS` had passed (the database's clock decides expiry). */
const expire = (id: string) => db.query(`UPDATE rollouts SET lease_expires_at = now() - interval '1 second' WHERE id = $1`, [id]);
const decisions = (id: string) =>
  db.query<{ seq: string; holder: string }>('SELECT seq, holder FROM rollout_decisions WHERE rollout_id = $1', [id]);

/** Polls until `probe` answers (each answer is the event being waited for, not a fixed sleep). */
async function until<T>(probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`nothing within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('RolloutLeaseRepository (PostgreSQL)', () => {
  beforeEach(() => db.query('DELETE FROM rollouts'));

  it('gives each rollout to one holder until its lease expires, then to another with a higher token', async () => {
    const [r1, r2] = [await rollout(), await rollout()];
    const a = await leases.claimNext('A', LEASE_MS, []);
    const b = await leases.claimNext('B', LEASE_MS, []);
    expect(new Set([a?.rolloutId, b?.rolloutId])).toEqual(new Set([r1, r2]));
    // B holds one, A the other: nothing is left for B.
    expect(await leases.claimNext('B', LEASE_MS, [b!.rolloutId])).toBeUndefined();
    // A renews its own (a fresh token each time).
    const renewed = await leases.claimNext('A', LEASE_MS, []);
    expect(renewed).toEqual({ rolloutId: a!.rolloutId, holder: 'A', token: a!.token + 1 });

    await expire(a!.rolloutId);
    const takeover = await leases.claimNext('B', LEASE_MS, [b!.rolloutId]);
    expect(takeover).toEqual({ rolloutId: a!.rolloutId, holder: 'B', token: renewed!.token + 1 });
  });

  it('fences the old holder: after a takeover its decision writes nothing', async () => {
    const id = await rollout();
    const old = (await leases.claimNext('A', LEASE_MS, []))!;
    await expire(id);
    const current = (await leases.claimNext('B', LEASE_MS, []))!;
    let ran = false;
    await expect(
      leases.underLease(old, LEASE_MS, async (uow) => {
        ran = true;
        await leases.recordDecision(uow, old, []);
      }),
    ).rejects.toBeInstanceOf(LeaseLostError);
    expect(ran).toBe(false);
    await leases.underLease(current, LEASE_MS, (uow) => leases.recordDecision(uow, current, []));
    expect(await decisions(id)).toEqual([{ seq: '1', holder: 'B' }]);
  });

  it('ends the transaction of a holder frozen inside it, so another takes over and the frozen one cannot commit', async () => {
    const id = await rollout();
    const shortLeaseMs = 500;
    const frozen = (await leases.claimNext('A', shortLeaseMs, []))!;
    let thaw!: () => void;
    const thawed = new Promise<void>((resolve) => (thaw = resolve));
    let inside!: () => void;
    const entered = new Promise<void>((resolve) => (inside = resolve));
    const decision = leases.underLease(frozen, shortLeaseMs, async (uow) => {
      inside();
      await thawed; // A stops talking to the database while it holds the row (a GC pause, SIGSTOP, a cut network)
      await leases.recordDecision(uow, frozen, []);
    });
    const outcome = decision.then(
      () => 'committed',
      () => 'failed',
    );
    await entered;
    // While A's transaction lives the row is locked and B skips it; PostgreSQL ends A's session after its idle timeout.
    const takeover = await until(async () => (await leases.claimNext('B', LEASE_MS, [])) ?? undefined);
    expect(takeover).toMatchObject({ rolloutId: id, holder: 'B', token: frozen.token + 1 });
    thaw();
    expect(await outcome).toBe('failed');
    await leases.underLease(takeover, LEASE_MS, (uow) => leases.recordDecision(uow, takeover, []));
    expect(await decisions(id)).toEqual([{ seq: '1', holder: 'B' }]);
  });

  it("gives up waiting for the rollout's row after the lease's time, instead of holding the pass behind a lock", async () => {
    const id = await rollout();
    const shortLeaseMs = 300;
    const lease = (await leases.claimNext('A', shortLeaseMs, []))!;
    const blocker = new Client({ connectionString: db.url });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT id FROM rollouts WHERE id = $1 FOR UPDATE', [id]);
      const started = Date.now();
      await expect(leases.underLease(lease, shortLeaseMs, async () => undefined)).rejects.toMatchObject({ code: '55P03' });
      // Ended by lock_timeout (the lease's time), not by the test's own timeout.
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await blocker.end();
    }
  });

  it('makes an operator command wait for a decision under way instead of skipping the rollout', async () => {
    const id = await rollout();
    const lease = (await leases.claimNext('A', LEASE_MS, []))!;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let inside!: () => void;
    const entered = new Promise<void>((resolve) => (inside = resolve));
    const decision = leases.underLease(lease, LEASE_MS, async () => {
      inside();
      await held;
    });
    await entered;
    let locked = false;
    const command = rollouts.transaction(async (uow) => {
      locked = await rollouts.lock(uow, id);
    });
    // Barrier: PostgreSQL shows the command's session waiting on the held row's lock.
    await until(async () => {
      const [row] = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      return row!.n >= 1 ? true : undefined;
    });
    expect(locked).toBe(false);
    release();
    await decision;
    await command;
    expect(locked).toBe(true);
  });
});
