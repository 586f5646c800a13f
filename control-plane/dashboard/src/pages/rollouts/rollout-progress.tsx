import type { RolloutCounts } from '@flotilla/shared';
import { ProgressBar } from '../../ui/charts';

export function RolloutProgress({ counts, testId }: { counts: RolloutCounts; testId?: string }) {
  return (
    <div className="rollout-progress">
      <ProgressBar
        total={counts.devices}
        testId={testId}
        segments={[
          { value: counts.succeeded, className: 'seg-ok', label: 'succeeded' },
          { value: counts.failed, className: 'seg-failed', label: 'failed' },
          { value: counts.updating, className: 'seg-updating', label: 'updating' },
        ]}
      />
      <span className="sub">
        {counts.succeeded}/{counts.devices} done{counts.failed ? `, ${counts.failed} failed` : ''}
        {counts.accepted ? ` (${counts.accepted} accepted)` : ''}
        {counts.updating ? `, ${counts.updating} updating` : ''}
        {counts.waiting ? ` (${counts.waiting} waiting for an update lock)` : ''}
      </span>
    </div>
  );
}
