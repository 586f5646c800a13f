import { unsupportedBoards } from './board-compatibility';

describe('unsupportedBoards', () => {
  it('lists the fleet boards the release does not run on', () => {
    expect(unsupportedBoards(['raspberrypi4-64', 'raspberrypi5'], ['raspberrypi5'])).toEqual(['raspberrypi4-64']);
    expect(unsupportedBoards(['raspberrypi5'], ['raspberrypi5', 'qemu-arm64-virt'])).toEqual([]);
  });

  it('accepts a release without boards, and any release for a fleet without boards', () => {
    expect(unsupportedBoards(['raspberrypi5'], undefined)).toEqual([]);
    expect(unsupportedBoards([], ['raspberrypi5'])).toEqual([]);
  });
});
