import { kickDelay, MAX_REST_MS, restUntil } from './pass-pacing';

describe('rollout pass pacing', () => {
  it('rests after a pass as long as it spent deciding and writing', () => {
    expect(restUntil(10_000, 800)).toBe(10_800);
  });

  it('waits for the debounce when the last pass was short or long past', () => {
    expect(kickDelay(10_000, 150, restUntil(10_000, 5))).toBe(150);
    expect(kickDelay(20_000, 150, restUntil(10_000, 800))).toBe(150);
  });

  it('waits out the rest of a long pass before the next one', () => {
    const rest = restUntil(10_000, 800);
    expect(kickDelay(10_000, 150, rest)).toBe(800);
    expect(kickDelay(10_500, 150, rest)).toBe(300);
  });

  it('never rests longer than MAX_REST_MS, however long a pass waited for the database', () => {
    expect(kickDelay(10_000, 150, restUntil(10_000, 60_000))).toBe(MAX_REST_MS);
  });
});
