import { parseDirectoryChange } from './device-directory.repository';

describe('parseDirectoryChange', () => {
  it('reads an id alone as a device to read again', () => {
    expect(parseDirectoryChange('dev_1')).toEqual({ id: 'dev_1' });
  });

  it('reads an id and a rev as the rev moved', () => {
    expect(parseDirectoryChange('dev_1 17')).toEqual({ id: 'dev_1', rev: 17 });
    expect(parseDirectoryChange(`dev_1 ${2 ** 31 - 1}`)).toEqual({ id: 'dev_1', rev: 2 ** 31 - 1 });
  });

  it('takes anything else whole as an id to read again (a read changes nothing the database does not hold)', () => {
    for (const payload of ['dev_1 ', 'dev_1  3', 'dev_1 -3', 'dev_1 3.5', 'dev_1 99999999999', `dev_1 ${2 ** 31}`, 'a b 3']) {
      expect(parseDirectoryChange(payload)).toEqual({ id: payload });
    }
  });
});
