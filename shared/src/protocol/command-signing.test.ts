import { generateKeyPairSync, sign } from 'node:crypto';
import {
  admitCommand,
  COMMAND_CLOCK_ALLOWANCE_MS,
  readSignedCommand,
  sealCommand,
  verifyCommandSignature,
  type CommandContext,
} from './command-signing';
import { desiredSigningPayload } from './desired-signing';
import type { CommandStatement } from './messages/commands';

/** Unit: sealing, reading, verifying and admitting a command, with real ed25519 keys. */
function key(keyId: string) {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return { keyId, privateKey, publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}
const a = key('ed25519:aaaaaaaaaaaaaaaa');
const b = key('ed25519:bbbbbbbbbbbbbbbb');
const NOW = new Date('2026-12-01T12:00:00Z');

function statement(overrides: Partial<CommandStatement> = {}): CommandStatement {
  return {
    schema: 1,
    id: 'cmd_1',
    name: 'restart-component',
    args: { component: 'web' },
    deviceId: 'dev_a',
    issuedAt: '2026-12-01T11:59:50.000Z',
    expiresAt: '2026-12-01T12:00:20.000Z',
    ...overrides,
  };
}
const wire = (s: CommandStatement, by = a) => JSON.stringify(sealCommand(s, by.privateKey, by.keyId));
const ctx = (overrides: Partial<CommandContext> = {}): CommandContext => ({
  deviceId: 'dev_a',
  now: NOW,
  taken: () => false,
  ...overrides,
});

describe('signed commands', () => {
  it('reads and verifies a sealed command, every field as signed', () => {
    const read = readSignedCommand(wire(statement()));
    expect(read).toMatchObject({ ok: true, statement: statement() });
    if (!read.ok) return;
    expect(verifyCommandSignature(read.envelope, [a])).toEqual({ ok: true, keyId: a.keyId });
  });

  it('refuses an unsigned command (the format before signing) and says why', () => {
    const read = readSignedCommand(JSON.stringify({ schema: 1, id: 'cmd_2', name: 'rollback', args: {} }));
    expect(read).toMatchObject({ ok: false, code: 'unsigned' });
    expect(readSignedCommand('{not json')).toMatchObject({ ok: false, code: 'invalid' });
  });

  it.each([
    ['the name', (s: string) => s.replace('restart-component', 'rollback')],
    ['an argument', (s: string) => s.replace('"web"', '"db"')],
    ['the device', (s: string) => s.replace('dev_a', 'dev_b')],
    ['the deadline', (s: string) => s.replace('12:00:20', '23:00:20')],
  ])('refuses a command whose %s was changed after signing', (_, change) => {
    const envelope = JSON.parse(wire(statement())) as { statement: string };
    envelope.statement = change(envelope.statement);
    const read = readSignedCommand(JSON.stringify(envelope));
    expect(read.ok).toBe(true);
    if (read.ok) expect(verifyCommandSignature(read.envelope, [a])).toMatchObject({ ok: false, code: 'forged' });
  });

  it('refuses an unknown key, a revoked key, and a signature made for a desired state', () => {
    const read = readSignedCommand(wire(statement(), b));
    if (!read.ok) throw new Error(read.reason);
    expect(verifyCommandSignature(read.envelope, [a])).toMatchObject({ ok: false, code: 'unknown-key' });
    expect(verifyCommandSignature(read.envelope, [a, b], new Set([b.keyId]))).toMatchObject({ ok: false, code: 'revoked-key' });
    // The same key's signature over the same bytes as a desired root: another domain, not a command.
    const text = JSON.stringify(statement());
    const crossed = {
      schema: 1,
      statement: text,
      signature: {
        alg: 'ed25519',
        keyId: a.keyId,
        value: sign(null, desiredSigningPayload(Buffer.from(text)), a.privateKey).toString('base64'),
      },
    };
    const readCrossed = readSignedCommand(JSON.stringify(crossed));
    if (!readCrossed.ok) throw new Error(readCrossed.reason);
    expect(verifyCommandSignature(readCrossed.envelope, [a])).toMatchObject({ ok: false, code: 'forged' });
  });

  it('admits a command for this device before its deadline (plus the clock allowance), once', () => {
    expect(admitCommand(statement(), ctx())).toEqual({ ok: true });
    expect(admitCommand(statement(), ctx({ deviceId: 'dev_b' }))).toMatchObject({ ok: false, code: 'wrong-device', id: 'cmd_1' });
    const deadline = Date.parse(statement().expiresAt) + COMMAND_CLOCK_ALLOWANCE_MS;
    expect(admitCommand(statement(), ctx({ now: new Date(deadline - 1) }))).toEqual({ ok: true });
    expect(admitCommand(statement(), ctx({ now: new Date(deadline) }))).toMatchObject({ ok: false, code: 'stale', id: 'cmd_1' });
    expect(admitCommand(statement(), ctx({ taken: (id) => id === 'cmd_1' }))).toMatchObject({ ok: false, code: 'replayed' });
  });

  it("names the command's id in a refusal of a malformed statement, when it can be read", () => {
    const envelope = JSON.parse(wire(statement())) as { statement: string };
    envelope.statement = JSON.stringify({ ...statement(), name: 'format-disk' });
    expect(readSignedCommand(JSON.stringify(envelope))).toMatchObject({ ok: false, code: 'invalid', id: 'cmd_1' });
  });
});
