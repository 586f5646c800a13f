import { hash } from 'node:crypto';
import type { Reported } from '@flotilla/shared';

/**
 * What a report says, without when it was said: two reports with the same fingerprint differ at
 * most in `at`. 128 bits of SHA-256 of the JSON as the device sent it (key order included: a
 * device that reorders its keys costs one write, never a lost one). One-shot (`crypto.hash`): no
 * Hash object per report, whose construction was most of this function's cost in a fan-out.
 */
export function reportFingerprint(reported: Reported): string {
  const { at: _at, ...content } = reported;
  return hash('sha256', JSON.stringify(content), 'base64').slice(0, 22);
}
