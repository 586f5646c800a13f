import type { Release } from '@flotilla/shared';
import { agentUpdateFor } from './agent-target';

const agent = { version: '0.2.0', url: 'http://127.0.0.1:1/agent.js', sha256: 'a'.repeat(64), size: 10 };
const release = (withAgent: boolean) => ({ id: 'r1', assembly: withAgent ? { agent } : {} }) as unknown as Release;

describe('agentUpdateFor', () => {
  it('asks for the release agent when it is another version', () => {
    expect(agentUpdateFor(release(true), '0.1.0', null)).toEqual({ ...agent, releaseId: 'r1' });
  });
  it('asks for nothing without a release, without an agent in it, or for the running version', () => {
    expect(agentUpdateFor(null, '0.1.0', null)).toBeUndefined();
    expect(agentUpdateFor(release(false), '0.1.0', null)).toBeUndefined();
    expect(agentUpdateFor(release(true), '0.2.0', null)).toBeUndefined();
  });
  it('does not try again a build that already failed its trial here', () => {
    expect(agentUpdateFor(release(true), '0.1.0', agent.sha256)).toBeUndefined();
  });
});
