import { intFlag, parseArgs } from './args';
import { CliError } from './errors';

const spec = { json: {}, limit: { value: true }, tag: { value: true, many: true }, follow: { short: 'f' } };

describe('parseArgs', () => {
  it('reads positionals, flags with values in both forms, repeats and short flags', () => {
    const p = parseArgs(['devices', 'ls', '--json', '--limit', '5', '--tag=a', '--tag', 'b', '-f'], spec);
    expect(p.positionals).toEqual(['devices', 'ls']);
    expect(Object.fromEntries(p.flags)).toEqual({ json: ['true'], limit: ['5'], tag: ['a', 'b'], follow: ['true'] });
    expect(intFlag(p, 'limit', 50, 1, 500)).toBe(5);
  });

  it('refuses unknown flags, missing values and repeats as usage errors (exit 2)', () => {
    for (const argv of [['--nope'], ['--limit'], ['--json', '--json'], ['-x'], ['--json=1']]) {
      expect(() => parseArgs(argv, spec)).toThrow(CliError);
      try {
        parseArgs(argv, spec);
      } catch (e) {
        expect((e as CliError).exitCode).toBe(2);
      }
    }
  });

  it('takes everything after -- as positionals', () => {
    expect(parseArgs(['--', '--json'], spec).positionals).toEqual(['--json']);
  });

  it('checks numbers', () => {
    expect(() => intFlag(parseArgs(['--limit', '0'], spec), 'limit', 50, 1, 500)).toThrow(/from 1 to 500/);
  });
});
