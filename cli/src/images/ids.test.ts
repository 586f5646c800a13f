import { DerivedIds } from './ids';

describe('derived identifiers', () => {
  it('are stable for one seed and differ between seeds and purposes', () => {
    const a = new DerivedIds('board\0fleet');
    expect(a.uuid('rootA')).toBe(new DerivedIds('board\0fleet').uuid('rootA'));
    expect(a.uuid('rootA')).not.toBe(a.uuid('rootB'));
    expect(a.uuid('rootA')).not.toBe(new DerivedIds('board\0other').uuid('rootA'));
  });

  it('have the shapes mke2fs, sfdisk and mkfs.vfat accept', () => {
    const ids = new DerivedIds('x');
    expect(ids.uuid('p')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(ids.volumeId('boot')).toMatch(/^[0-9A-F]{8}$/);
  });
});
