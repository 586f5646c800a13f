import type { OsStatus, SlotRef, UpdateStatus } from '@flotilla/shared';
import { ProgressBar } from '../../ui/charts';
import { Badge, bytes } from '../../ui/bits';
import { DeviceText } from '../../ui/device-text';

/** The assembly's A/B slots and update phase, with the OS's own A/B update when the device has one. */
export function UpdateStatusCard({ update, os }: { update: UpdateStatus | undefined; os: OsStatus | undefined }) {
  return (
    <div className="card">
      <h3>A/B slots</h3>
      <div className="slots">
        <Slot title="Active" slot={update?.active ?? null} kind="active" />
        <Slot title="Candidate" slot={update?.candidate ?? null} kind={update?.phase === 'rollback' ? 'failed' : 'candidate'} />
      </div>
      <p>
        Phase <Badge kind={update?.phase ?? 'idle'}>{update?.phase ?? 'unknown'}</Badge>
        {update?.failedRev != null && <> · failed rev {update.failedRev}</>}
      </p>
      {update?.progress && (
        <>
          <ProgressBar
            total={100}
            segments={[{ value: update.progress.percent, className: 'seg-updating', label: 'downloaded' }]}
            testId="pull-progress"
          />
          <p className="sub">
            images {update.progress.imagesDone}/{update.progress.imagesTotal} · {bytes(update.progress.bytesDone)}
            {update.progress.bytesTotal ? ` of ${bytes(update.progress.bytesTotal)}` : ''}
          </p>
        </>
      )}
      {update?.lastFailure && (
        <p className="error">
          Last failure: <DeviceText>{update.lastFailure}</DeviceText>
        </p>
      )}
      {os && (
        <div data-testid="os-status">
          <h3>Operating system</h3>
          <p>
            OS <DeviceText>{os.version ?? 'unknown'}</DeviceText> on slot {os.slot ?? '?'}
            {os.inTrial ? ' (trial boot)' : ''} · <Badge kind={os.phase === 'idle' ? 'idle' : 'fetch'}>{os.phase}</Badge>
            {os.phase !== 'idle' && os.target && (
              <>
                {' → '}
                <DeviceText>{os.target}</DeviceText>
              </>
            )}
          </p>
          {os.progress && (
            <>
              <ProgressBar
                total={100}
                segments={[{ value: os.progress.percent, className: 'seg-updating', label: 'written' }]}
                testId="os-progress"
              />
              <p className="sub">
                {bytes(os.progress.bytesDone)} of {bytes(os.progress.bytesTotal)} written
              </p>
            </>
          )}
          {os.lastFailure && (
            <p className="error">
              Last OS update failure: <DeviceText>{os.lastFailure}</DeviceText>
            </p>
          )}
        </div>
      )}
    </div>
  );
}

function Slot({ title, slot, kind }: { title: string; slot: SlotRef | null; kind: string }) {
  return (
    <div className={`slot slot-${slot ? kind : 'empty'}`} data-testid={`slot-${title.toLowerCase()}`}>
      <div className="slot-title">{title}</div>
      {slot ? (
        <>
          <div className="slot-version">
            <DeviceText>{slot.version ?? slot.releaseId?.slice(0, 8) ?? 'none'}</DeviceText>
          </div>
          <div className="sub">rev {slot.rev}</div>
        </>
      ) : (
        <div className="sub">empty</div>
      )}
    </div>
  );
}
