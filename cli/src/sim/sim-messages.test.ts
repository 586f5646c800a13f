import { CHANNEL_SCHEMAS } from '@flotilla/shared';
import { simInventory, simReported, simTelemetry, simUpdateEvent } from './sim-messages';

// Unit: what a simulated device says is valid protocol, as a control plane reads it.
const at = new Date('2026-12-05T10:00:00.000Z');
const slot = { rev: 3, releaseId: '6f1c1d9e-3f0e-4a57-9d3b-2a1f2c3d4e5f', version: '1.2.0' };

describe('simulated device messages', () => {
  it('reports its update state, with a deferral and an OS only when it has them', () => {
    const state = {
      rev: 3,
      phase: 'probation' as const,
      active: null,
      candidate: slot,
      failedRev: null,
      lastFailure: null,
      deferral: null,
    };
    const reported = simReported(state, undefined, at);
    expect(CHANNEL_SCHEMAS.reported.parse(reported)).toEqual(reported);
    expect(reported.update).not.toHaveProperty('deferred');
    expect(reported).not.toHaveProperty('os');
    const deferral = { waitingFor: 'lock' as const, since: at.toISOString(), components: ['printer'] };
    expect(simReported({ ...state, deferral }, undefined, at).update.deferred).toEqual(deferral);
  });

  it('gives every update event its own id and the release it is about', () => {
    const event = simUpdateEvent('update-committed', slot, 'committed', at);
    expect(CHANNEL_SCHEMAS.events.parse(event)).toEqual(event);
    expect(event).toMatchObject({ rev: 3, releaseId: slot.releaseId });
    expect(simUpdateEvent('update-committed', slot, 'committed', at).id).not.toBe(event.id);
    expect(simUpdateEvent('update-committed', { ...slot, releaseId: null }, 'm', at)).not.toHaveProperty('releaseId');
  });

  it('sends valid telemetry and an inventory stable per device', () => {
    const telemetry = simTelemetry(() => 0.5, at);
    expect(CHANNEL_SCHEMAS.telemetry.parse(telemetry)).toEqual(telemetry);
    const inventory = simInventory('dev_0000abcd', { timeZone: 'Europe/Berlin' }, at);
    expect(CHANNEL_SCHEMAS.inventory.parse(inventory)).toEqual(inventory);
    expect(inventory).toMatchObject({ hostname: 'sim-0000abcd', timeZone: 'Europe/Berlin' });
    expect(simInventory('dev_0000abcd', {}, at).network).toEqual(inventory.network);
  });
});
