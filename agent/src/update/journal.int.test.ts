import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
});
