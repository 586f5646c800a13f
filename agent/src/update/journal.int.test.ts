import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentProcess } from '../testing/agent-process';
import { testSigner } from '../testing/releases';
import { INITIAL_STATE, transition } from './machine';
import { JournalCorruptError, UpdateJournal } from './journal';

// Integration depth: the real file system.
describe('UpdateJournal', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'journal-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('starts idle when there is no journal, and round-trips a state without leaving temp files', async () => {
    const journal = new UpdateJournal(join(dir, 'state'));
    expect(await journal.read()).toEqual(INITIAL_STATE);
    const state = transition(INITIAL_STATE, { type: 'desired', desired: { schema: 1, rev: 4, release: null, config: {} } });
    await journal.write(state);
    expect(await new UpdateJournal(join(dir, 'state')).read()).toEqual(state);
    expect(readdirSync(join(dir, 'state'))).toEqual(['update-journal.json']);
  });

  it('refuses a corrupt journal with a typed, terminal error that says what to do', async () => {
    const journal = new UpdateJournal(dir);
    writeFileSync(journal.path, '{"version":1,"state":{"phase":"dancing"}}');
    await expect(journal.read()).rejects.toBeInstanceOf(JournalCorruptError);
    writeFileSync(journal.path, '{torn');
    await expect(journal.read()).rejects.toThrow(/move it aside/);
  });

  it('stops the real agent with exit 78 and a fatal line that names the file and the repair', async () => {
    await AgentProcess.prepare(dir, [testSigner().key]);
    const journal = new UpdateJournal(dir);
    writeFileSync(journal.path, '');
    const root = join(__dirname, '../../..');
    const child = spawn(process.execPath, ['-r', join(root, 'agent/src/testing/ts-register.js'), join(root, 'agent/src/main.ts')], {
      env: {
        PATH: process.env.PATH ?? '',
        FLOTILLA_STATE_DIR: dir,
        FLOTILLA_STATUS_DIR: join(dir, 'run'),
        FLOTILLA_PROVISIONING: join(dir, 'absent-provisioning.json'),
        FLOTILLA_CONNECT_SPREAD_MS: '0',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    const status = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const fatal = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.msg === 'fatal');
    expect(status).toBe(78);
    expect(fatal).toMatchObject({ code: 'journal-corrupt', exitStatus: 78, restart: expect.stringContaining('not restarted') });
    expect(fatal?.error).toContain(`${journal.path} is not JSON`);
    expect(fatal?.error).toContain(`mv ${journal.path} ${journal.path}.damaged`);
    expect(fatal?.error).toContain('desired-watermark.json');
  });
});
