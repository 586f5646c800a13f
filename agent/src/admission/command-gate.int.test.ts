import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMMAND_CLOCK_ALLOWANCE_MS, sealCommand, type CommandResult, type CommandStatement } from '@flotilla/shared';
import { DeviceCommands } from '../link/device-commands';
import { LEARNED_KEYS_FILE, TrustedKeyStore } from '../provisioning/trusted-key-store';
import { InMemoryRuntime } from '../runtime/in-memory-runtime';
import { silentLogger } from '../support/logger';
import { endorseKey, testSigner, type TestSigner } from '../testing/releases';
import { CommandGate } from './command-gate';

/**
 * Integration (the real key store in a temporary directory, real ed25519 keys): a command runs
 * only when signed by a key the device trusts, for this device, before its deadline, and once;
 * every refusal is answered (when the command's id can be read) and left as an event. A rollback
 * ends only the rev it names.
 */
const DEVICE = 'dev_cmd_1';
const signer = testSigner();
let stateDir: string;
let keys: TrustedKeyStore;
let now: Date;
let onTrial: number | null;
let rolledBack: string[];
let events: string[];
let commands: DeviceCommands;

beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'flotilla-cmd-gate-'));
  keys = await TrustedKeyStore.open({ stateDir, pinned: [signer.key], logger: silentLogger });
  now = new Date('2026-12-07T12:00:00Z');
  onTrial = 7;
  rolledBack = [];
  events = [];
  commands = new DeviceCommands({
    gate: new CommandGate({ deviceId: DEVICE, trust: keys, clock: { now: () => now } }),
    runtime: new InMemoryRuntime(),
    events: { about: (_kind, message) => void events.push(message) },
    logger: silentLogger,
    rollback: (reason) => void rolledBack.push(reason),
    onTrial: () => onTrial,
  });
});

afterEach(() => rm(stateDir, { recursive: true, force: true }));

let seq = 0;
function command(overrides: Partial<CommandStatement> = {}, by: TestSigner = signer): string {
  const statement: CommandStatement = {
    schema: 1,
    id: `cmd_${++seq}`,
    name: 'identify',
    args: {},
    deviceId: DEVICE,
    issuedAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + 30_000).toISOString(),
    ...overrides,
  };
  return JSON.stringify(sealCommand(statement, by.privateKey, by.key.keyId));
}

const refusal = (result: CommandResult | undefined) => (result?.ok === false ? result.error?.split(':')[0] : result);

describe('CommandGate and DeviceCommands', () => {
  it('runs a command signed for this device, once', async () => {
    const bytes = command({ id: 'cmd_once' });
    await expect(commands.receive(bytes)).resolves.toMatchObject({ id: 'cmd_once', ok: true });
    expect(refusal(await commands.receive(bytes))).toBe('replayed');
    expect(events).toEqual([expect.stringContaining('identify (cmd_once): ok'), expect.stringContaining('refused (replayed)')]);
  });

  it('refuses unsigned, foreign, forged, stale and revoked commands, and answers each one it can name', async () => {
    const stranger = testSigner();
    const forged = JSON.parse(command({ id: 'cmd_forged' })) as { statement: string };
    forged.statement = forged.statement.replace('identify', 'rollback');
    const cases: [string, string, string | undefined][] = [
      ['unsigned', JSON.stringify({ schema: 1, id: 'cmd_plain', name: 'rollback', args: {} }), undefined],
      ['unknown-key', command({ id: 'cmd_stranger' }, stranger), 'cmd_stranger'],
      ['forged', JSON.stringify(forged), 'cmd_forged'],
      ['wrong-device', command({ id: 'cmd_other', deviceId: 'dev_other' }), 'cmd_other'],
      ['stale', command({ id: 'cmd_late', expiresAt: new Date(now.getTime() - COMMAND_CLOCK_ALLOWANCE_MS).toISOString() }), 'cmd_late'],
      ['revoked-key', command({ id: 'cmd_revoked', revokedKeys: [signer.key.keyId] }), 'cmd_revoked'],
    ];
    for (const [code, bytes, id] of cases) {
      const result = await commands.receive(bytes);
      expect([code, result === undefined ? undefined : result.id, refusal(result) ?? code]).toEqual([code, id, code]);
    }
    expect(rolledBack).toEqual([]);
    expect(events).toHaveLength(cases.length);
    for (const [i, [code]] of cases.entries()) expect(events[i]).toContain(`refused (${code})`);
  });

  it('takes a command signed with a rotated key it learns from the chain the command carries, without keeping it', async () => {
    const next = testSigner();
    const bytes = command({ keyEndorsements: [endorseKey(next.key, signer)] }, next);
    await expect(commands.receive(bytes)).resolves.toMatchObject({ ok: true });
    // Only `desired` changes what the device trusts.
    expect(refusal(await commands.receive(command({}, next)))).toBe('unknown-key');
  });

  it('takes a command up to its deadline plus the clock allowance, and refuses it again until then', async () => {
    const bytes = command({ id: 'cmd_edge' });
    await expect(commands.receive(bytes)).resolves.toMatchObject({ ok: true });
    now = new Date(now.getTime() + 30_000 + COMMAND_CLOCK_ALLOWANCE_MS - 1);
    expect(refusal(await commands.receive(bytes))).toBe('replayed');
    now = new Date(now.getTime() + 1);
    expect(refusal(await commands.receive(bytes))).toBe('stale');
  });

  it('refuses a command pushed out of its memory by 1,024 newer ones, and any due as early; takes one due later', async () => {
    const gate = new CommandGate({ deviceId: DEVICE, trust: keys, clock: { now: () => now } });
    const first = command({ id: 'cmd_pushed_out' });
    expect(gate.admit(first)).toMatchObject({ ok: true });
    for (let i = 0; i < 1024; i++) {
      expect(gate.admit(command({ expiresAt: new Date(now.getTime() + 60_000).toISOString() }))).toMatchObject({ ok: true });
    }
    expect(gate.admit(first)).toMatchObject({ ok: false, code: 'replayed', id: 'cmd_pushed_out' });
    // Due no later than the one forgotten: it cannot be told from it either.
    expect(gate.admit(command({ id: 'cmd_due_as_early' }))).toMatchObject({ ok: false, code: 'replayed' });
    expect(gate.admit(command({ expiresAt: new Date(now.getTime() + 30_001).toISOString() }))).toMatchObject({ ok: true });
  });

  it('refuses every command, and says why, while the key file is damaged (it cannot tell a revoked key)', async () => {
    await writeFile(join(stateDir, LEARNED_KEYS_FILE), '{"schema":1,"keys":[],"revo');
    const damaged = new DeviceCommands({
      gate: new CommandGate({
        deviceId: DEVICE,
        trust: await TrustedKeyStore.open({ stateDir, pinned: [signer.key], logger: silentLogger }),
        clock: { now: () => now },
      }),
      runtime: new InMemoryRuntime(),
      events: { about: (_kind, message) => void events.push(message) },
      logger: silentLogger,
      rollback: (reason) => void rolledBack.push(reason),
      onTrial: () => onTrial,
    });
    await expect(damaged.receive(command({ name: 'rollback', args: { rev: '7' } }))).resolves.toBeUndefined();
    expect(rolledBack).toEqual([]);
    expect(events).toEqual([expect.stringMatching(/refused \(unknown-key\): cannot check the command's signature: .*release-keys/)]);
  });

  it('rolls back only the rev a rollback names', async () => {
    expect(refusal(await commands.receive(command({ name: 'rollback', args: { rev: '6' } })))).toBe('rollback of rev 6 refused');
    onTrial = null;
    expect(refusal(await commands.receive(command({ name: 'rollback', args: { rev: '7' } })))).toBe('rollback of rev 7 refused');
    expect(rolledBack).toEqual([]);
    onTrial = 7;
    await expect(commands.receive(command({ id: 'cmd_rb', name: 'rollback', args: { rev: '7' } }))).resolves.toMatchObject({ ok: true });
    expect(rolledBack).toEqual(['rollback requested by command cmd_rb']);
  });
});
