import { run } from './main';

/**
 * Records each command module as it is first required, by `run` or by this file's import of main
 * (jest.mock factories are hoisted above it; a function declaration is hoisted with them).
 */
function mockRecord(name: string): unknown {
  const seen = globalThis as { commandsLoaded?: string[] };
  (seen.commandsLoaded ??= []).push(name);
  return jest.requireActual(`./commands/${name}`);
}
const loaded = (): string[] => [...((globalThis as { commandsLoaded?: string[] }).commandsLoaded ?? [])];
jest.mock('./commands/devices', () => mockRecord('devices'));
jest.mock('./commands/fleets', () => mockRecord('fleets'));
jest.mock('./commands/images', () => mockRecord('images'));
jest.mock('./commands/sim', () => mockRecord('sim'));

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l), write: () => true, isTTY: false } };
}

describe('run: each command loaded by name, when it runs', () => {
  it("answers `--help` and a group's `--help` without loading a command", async () => {
    const top = io();
    expect(await run(['--help'], {}, top.io)).toBe(0);
    expect(top.out.join('\n')).toContain('usage: flotilla COMMAND');
    const group = io();
    expect(await run(['devices', '--help'], {}, group.io)).toBe(0);
    expect(group.out.join('\n')).toContain('devices ls [--search T]');
    expect(group.out.join('\n')).not.toContain('fleets ls');
    expect(loaded()).toEqual([]);
  });

  it('loads the one command it runs', async () => {
    const fleets = io();
    expect(await run(['fleets', 'ls'], {}, fleets.io)).toBe(4);
    expect(fleets.err[0]).toBe('flotilla: no operator key');
    expect(loaded()).toEqual(['fleets']);
  });

  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty'])(
    'takes "%s" for an unknown command (exit 2), not a property of an object',
    async (name) => {
      const unknown = io();
      const before = loaded();
      expect(await run([name, 'ls'], {}, unknown.io)).toBe(2);
      expect(unknown.err).toEqual([`flotilla: unknown command "${name}"`, '  -> see flotilla --help']);
      expect(loaded()).toEqual(before);
    },
  );
});
