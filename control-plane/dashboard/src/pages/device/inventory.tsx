import type { Inventory } from '@flotilla/shared';
import { bytes } from '../../ui/bits';
import { DeviceText, deviceKey } from '../../ui/device-text';

/** What the device said it is: board, CPU, memory, OS and disks. */
export function InventoryList({ inv }: { inv: Inventory | null }) {
  return inv ? (
    <dl className="inventory">
      <dt>Model</dt>
      <dd>
        <DeviceText>{inv.board.model}</DeviceText>
      </dd>
      <dt>CPU</dt>
      <dd>
        <DeviceText>{inv.cpu.brand}</DeviceText> · {inv.cpu.cores} cores · <DeviceText>{inv.arch}</DeviceText>
      </dd>
      <dt>Memory</dt>
      <dd>{bytes(inv.memory.totalBytes)}</dd>
      <dt>OS</dt>
      <dd>
        <DeviceText>{inv.os.distro}</DeviceText> <DeviceText>{inv.os.release}</DeviceText> · kernel <DeviceText>{inv.os.kernel}</DeviceText>
      </dd>
      {inv.disks.map((k, i) => (
        <span key={deviceKey(i, k.mount)} style={{ display: 'contents' }}>
          <dt>
            Disk <DeviceText>{k.mount}</DeviceText>
          </dt>
          <dd>
            {bytes(k.usedBytes)} of {bytes(k.sizeBytes)} (<DeviceText>{k.fs}</DeviceText>)
          </dd>
        </span>
      ))}
    </dl>
  ) : (
    <p className="empty">No inventory reported yet.</p>
  );
}
