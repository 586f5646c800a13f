import { Inventory, Telemetry } from '@flotilla/shared';
import { collectInventory } from './inventory';
import { sampleTelemetry } from './telemetry';

/** Integration: /proc, /sys and `os` of the machine running the tests. */
describe('hardware on this machine', () => {
  jest.setTimeout(30_000);

  it('collects a schema-valid inventory', async () => {
    const inventory = await collectInventory();
    expect(Inventory.safeParse(inventory).error).toBeUndefined();
    expect(inventory.cpu.cores).toBeGreaterThan(0);
    expect(inventory.board.model.length).toBeGreaterThan(0);
  });

  it('takes a schema-valid telemetry sample', async () => {
    const sample = await sampleTelemetry();
    expect(Telemetry.safeParse({ schema: 1, samples: [sample] }).error).toBeUndefined();
    expect(sample.memTotalBytes).toBeGreaterThan(0);
  });
});
