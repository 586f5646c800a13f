import { PROTOCOL_SCHEMA, type Reported } from '@flotilla/shared';

/** What an agent reports at `rev` with no update under way, stamped now. */
export function idleReport(rev: number, components: Reported['components'] = []): Reported {
  return {
    schema: PROTOCOL_SCHEMA,
    at: new Date().toISOString(),
    agentVersion: '0.1.0',
    rev,
    update: { phase: 'idle', active: null, candidate: null, failedRev: null, lastFailure: null },
    components,
  };
}
