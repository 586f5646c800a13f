import { imagesToCollect } from './gc';

describe('imagesToCollect', () => {
  it('removes what the agent knew and the new active slot does not use', () => {
    expect(imagesToCollect(['a', 'b', 'c', 'b'], ['b'])).toEqual(['a', 'c']);
    expect(imagesToCollect([], ['b'])).toEqual([]);
  });
});
