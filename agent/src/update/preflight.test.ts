import { minimalComponent } from '@flotilla/shared';
import { signedDesired, testSigner } from '../testing/releases';
import { preflight, type PreflightInput } from './preflight';

const signer = testSigner();
const IMG = 'registry.local/app@sha256:' + 'a'.repeat(64);
const MiB = 1024 * 1024;

function input(overrides: Partial<PreflightInput> = {}): PreflightInput {
  return {
    release: signedDesired(signer, 1, [minimalComponent('web', IMG)]).release,
    trustedKeys: [signer.key],
    board: 'raspberrypi5',
    platform: { os: 'linux', architecture: 'arm64' },
    images: [{ ref: IMG, present: false, platforms: [{ os: 'linux', architecture: 'arm64' }], sizeBytes: 50 * MiB }],
    freeDiskBytes: 1024 * MiB,
    reserveBytes: 256 * MiB,
    unknownImageBytes: 512 * MiB,
    ...overrides,
  };
}

describe('preflight (VERIFY)', () => {
  it('accepts a signed release that fits, and says how much it will pull', () => {
    expect(preflight(input())).toEqual({ ok: true, bytesToPull: 50 * MiB });
    expect(preflight(input({ release: null }))).toEqual({ ok: true, bytesToPull: 0 });
  });

  it('refuses a release signed by a key the device does not pin', () => {
    const result = preflight(input({ trustedKeys: [testSigner().key] }));
    expect(result).toMatchObject({ ok: false, reason: expect.stringMatching(/^signature refused: .*does not trust.*re-provision/) });
  });

  it('refuses another board, and a board-bound release on a device whose board is unknown', () => {
    const release = signedDesired(signer, 1, [minimalComponent('web', IMG)], { boards: ['raspberrypi4-64'] }).release;
    expect(preflight(input({ release }))).toMatchObject({ ok: false, reason: expect.stringMatching(/this device is a raspberrypi5/) });
    expect(preflight(input({ release, board: undefined }))).toMatchObject({ ok: false, reason: expect.stringMatching(/FLOTILLA_BOARD/) });
    expect(preflight(input({ release, board: 'raspberrypi4-64' }))).toMatchObject({ ok: true });
  });

  it('refuses an image built for another architecture, but not one the registry could not describe', () => {
    const amd64 = { os: 'linux', architecture: 'amd64' };
    expect(preflight(input({ platform: amd64 }))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/built for linux\/arm64.*runs linux\/amd64/),
    });
    expect(preflight(input({ platform: amd64, images: [{ ref: IMG, present: false }] }))).toMatchObject({ ok: true });
  });

  it('matches arm variants as the engine does: older ones run, newer ones do not, arm64 takes v8', () => {
    const arm = (variant: string) => ({ os: 'linux', architecture: 'arm', variant });
    const images = (...platforms: { os: string; architecture: string; variant?: string }[]) => [{ ref: IMG, present: false, platforms }];
    expect(preflight(input({ platform: arm('v7'), images: images(arm('v6')) }))).toMatchObject({ ok: true });
    expect(preflight(input({ platform: arm('v6'), images: images(arm('v7'), arm('v8')) }))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/built for linux\/arm\/v7, linux\/arm\/v8, this device runs linux\/arm\/v6/),
    });
    expect(preflight(input({ images: images({ os: 'linux', architecture: 'arm64', variant: 'v8' }) }))).toMatchObject({ ok: true });
    expect(preflight(input({ images: images({ os: 'windows', architecture: 'arm64' }) }))).toMatchObject({ ok: false });
  });

  it('refuses when the pulls would leave less than the reserve free, counting unknown sizes conservatively', () => {
    expect(preflight(input({ freeDiskBytes: 300 * MiB }))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/not enough disk: .*50 MiB.*256 MiB.*300 MiB/),
    });
    expect(preflight(input({ freeDiskBytes: 600 * MiB, images: [{ ref: IMG, present: false }] }))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/512 MiB/),
    });
    expect(preflight(input({ freeDiskBytes: 300 * MiB, images: [{ ref: IMG, present: true }] }))).toEqual({ ok: true, bytesToPull: 0 });
    // An OS-only release pulls nothing: a nearly full data partition is no reason to refuse it.
    expect(preflight(input({ freeDiskBytes: 100 * MiB, images: [] }))).toEqual({ ok: true, bytesToPull: 0 });
  });
});
