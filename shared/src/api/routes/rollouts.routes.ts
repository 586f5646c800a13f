import { PageQuery } from '../pagination';
import { CreateRolloutRequest, RolloutDeviceView, RolloutDevicesQuery, RolloutListQuery, RolloutPlan, RolloutView } from '../rollouts';
import { named, route } from '../route';
import { Rollout, list } from './views';

const rolloutCommand = <const C extends string>(command: C, summary: string, description: string) =>
  route({
    method: 'post',
    path: `/api/v1/rollouts/:id/${command}`,
    tag: 'rollouts',
    summary,
    description,
    access: 'operator',
    status: 200,
    response: Rollout,
    errors: [{ status: 409, description: 'the rollout is in a state where this makes no sense (code `rollout_invalid_transition`)' }],
  });

/** The routes of `control-plane/src/rollouts/rollouts.controller.ts`. */
export const ROLLOUTS_ROUTES = {
  create: route({
    method: 'post',
    path: '/api/v1/rollouts',
    tag: 'rollouts',
    summary: 'Start a phased rollout',
    description:
      'Answers 201 with the rollout as created, every device pending; its progress is at `GET /api/v1/rollouts/{id}`. ' +
      'With an `Idempotency-Key`, a repeated request answers 200 with the rollout the first one created, as it stands then.',
    access: 'operator',
    headers: [{ name: 'Idempotency-Key', description: '1-128 of [A-Za-z0-9_.:-]; same key and body → same rollout' }],
    body: named('CreateRolloutRequest', CreateRolloutRequest),
    status: 201,
    response: Rollout,
    errors: [{ status: 409, description: 'devices already in a rollout in motion, or the key was used for another request' }],
  }),
  plan: route({
    method: 'post',
    path: '/api/v1/rollouts/plan',
    tag: 'rollouts',
    summary: 'Dry run: phases and per-device changes',
    access: 'operator',
    body: named('CreateRolloutRequest', CreateRolloutRequest),
    status: 200,
    response: named('RolloutPlan', RolloutPlan),
  }),
  list: route({
    method: 'get',
    path: '/api/v1/rollouts',
    tag: 'rollouts',
    summary: 'List rollouts, newest first',
    access: 'viewer',
    query: RolloutListQuery.extend(PageQuery.shape),
    status: 200,
    response: list('RolloutPage', RolloutView),
  }),
  get: route({
    method: 'get',
    path: '/api/v1/rollouts/:id',
    tag: 'rollouts',
    summary: 'One rollout with per-phase progress',
    access: 'viewer',
    status: 200,
    response: Rollout,
  }),
  devices: route({
    method: 'get',
    path: '/api/v1/rollouts/:id/devices',
    tag: 'rollouts',
    summary: "Devices of a rollout, with each one's state and failure reason",
    access: 'viewer',
    query: RolloutDevicesQuery.extend(PageQuery.shape),
    status: 200,
    response: list('RolloutDevicePage', RolloutDeviceView),
  }),
  pause: rolloutCommand('pause', 'Pause a rollout', 'No new device is assigned; devices on their way finish.'),
  resume: rolloutCommand(
    'resume',
    'Resume a paused rollout',
    'Failures seen so far are accepted; new ones past a threshold pause it again.',
  ),
  advance: rolloutCommand('advance', 'Start the next phase now', 'For manual rollouts waiting at a phase, or to override a pause.'),
  abort: rolloutCommand('abort', 'Abort a rollout', 'Devices not yet updated stay where they are.'),
  rollback: rolloutCommand('rollback', 'Roll back all', 'Every device the rollout assigned is re-targeted to the release it had before.'),
};
