import type { Inventory } from '@flotilla/shared';
import { bytes } from '../../ui/bits';

/** What the device said it is: board, CPU, memory, OS and disks. */
export function InventoryList({ inv }: { inv: Inventory | null }) {
  return inv ? (
    <dl className="inventory">
      <dt>Model</dt>
      <dd>{inv.board.model}</dd>
      <dt>CPU</dt>
      <dd>
        {inv.cpu.brand} · {inv.cpu.cores} cores · {inv.arch}
      </dd>
      <dt>Memory</dt>
      <dd>{bytes(inv.memory.totalBytes)}</dd>
      <dt>OS</dt>
      <dd>
        {inv.os.distro} {inv.os.release} · kernel {inv.os.kernel}
      </dd>
      {inv.disks.map((k) => (
        <span key={k.mount} style={{ display: 'contents' }}>
          <dt>Disk {k.mount}</dt>
          <dd>
            {bytes(k.usedBytes)} of {bytes(k.sizeBytes)} ({k.fs})
          </dd>
        </span>
      ))}
    </dl>
  ) : (
    <p className="empty">No inventory reported yet.</p>
  );
}
