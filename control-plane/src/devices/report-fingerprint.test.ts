import { createHash } from 'node:crypto';
import { PROTOCOL_SCHEMA, type Reported } from '@flotilla/shared';
import { reportFingerprint } from './report-fingerprint';

const report: Reported = {
  schema: PROTOCOL_SCHEMA,
  at: '2026-12-06T00:00:00.000Z',
  agentVersion: '0.1.0',
  rev: 3,
  update: { phase: 'idle', active: { rev: 3, releaseId: 'r1', version: '1.0.0' }, candidate: null, failedRev: null, lastFailure: null },
  components: [],
};

describe('reportFingerprint', () => {
  it('is the same for the same report said later, and differs when what it says differs', () => {
    expect(reportFingerprint({ ...report, at: '2026-12-06T00:00:05.000Z' })).toBe(reportFingerprint(report));
    expect(reportFingerprint({ ...report, rev: 4 })).not.toBe(reportFingerprint(report));
  });

  it('is the first 128 bits of SHA-256 over the JSON of the report without `at`', () => {
    const { at: _at, ...content } = report;
    expect(reportFingerprint(report)).toBe(createHash('sha256').update(JSON.stringify(content)).digest('base64').slice(0, 22));
  });
});
