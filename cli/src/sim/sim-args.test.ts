import { parseSimArgs, SimArgsError } from './sim-args';

describe('parseSimArgs', () => {
  it('takes defaults, the key from the environment and flags in both spellings', () => {
    const args = parseSimArgs(['--devices', '200', '--failure-rate=0.1', '--api-url', 'http://cp:3000/'], { FLOTILLA_API_KEY: 'k' });
    expect(args).toMatchObject({
      apiUrl: 'http://cp:3000',
      apiKey: 'k',
      devices: 200,
      failureRate: 0.1,
      hangRate: 0,
      telemetryEverySeconds: 10,
      applySeconds: 5,
      durationSeconds: 0,
    });
    expect(args.fleetId).toBeUndefined();
  });

  it.each([
    [['--devices', '0'], /--devices must be an integer in 1..100000/],
    [['--failure-rate', '2'], /--failure-rate must be a number in 0..1/],
    [['--failure-rate', '0.6', '--hang-rate', '0.6'], /must not exceed 1/],
    [['--bogus', '1'], /unknown option --bogus/],
    [['--devices'], /--devices needs a value/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseSimArgs(argv, { FLOTILLA_API_KEY: 'k' })).toThrow(message);
  });

  it('needs an operator key', () => {
    expect(() => parseSimArgs([], {})).toThrow(SimArgsError);
  });
});
