import { FleetHostPolicyView, HostPolicy } from '../host-policy';
import { named, route } from '../route';

/** The routes of `control-plane/src/host-policy/host-policy.controller.ts`. */
export const HOST_POLICY_ROUTES = {
  get: route({
    method: 'get',
    path: '/api/v1/fleets/:id/host-policy',
    tag: 'fleets',
    summary: "The host-level powers (bind mounts, devices, capabilities) a fleet's releases may use",
    access: 'viewer',
    status: 200,
    response: named('FleetHostPolicyView', FleetHostPolicyView),
  }),
  set: route({
    method: 'put',
    path: '/api/v1/fleets/:id/host-policy',
    tag: 'fleets',
    summary: "Set a fleet's host policy",
    description:
      'Host paths bind mounts may use, host device nodes, and capabilities cap_add may add; empty lists allow none. ' +
      'Checked when a release is bound to the fleet (target, assignment, pin, rollout, a device moving in). ' +
      "A policy that would not allow the fleet's target, or a release one of its devices is assigned or pinned to, is refused: " +
      'devices joining the fleet take its target without another check.',
    access: 'admin',
    errors: [
      {
        status: 409,
        description: 'the fleet is bound to a release using a host-level power this policy would not allow (code `host_policy_in_use`)',
      },
    ],
    body: named('HostPolicy', HostPolicy),
    status: 200,
    response: named('FleetHostPolicyView', FleetHostPolicyView),
  }),
};
