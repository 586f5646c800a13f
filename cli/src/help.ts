export const HELP = `flotilla: operate a Flotilla fleet from a terminal

usage: flotilla COMMAND [options]

  login --key KEY [--api URL]          check the key and save it (~/.config/flotilla/config.json, 0600)

  devices ls [--search T] [--fleet F] [--tag T] [--status S] [--sort K] [--limit N] [--offset N] [--json]
  devices show DEVICE [--json]         DEVICE is an id or an exact name
  devices logs DEVICE COMPONENT [-f] [--tail N]
  devices reboot|rollback|identify DEVICE [--json]

  fleets ls [--json]
  fleets show FLEET [--json]

  releases ls [--json]
  releases show RELEASE [--json]       RELEASE is an id, a version or NAME@VERSION
  releases push assembly.yaml [--json]
  releases diff FROM TO [--json]

  rollouts ls [--status S] [--json]
  rollouts plan   --release R (--fleet F | --tag T… | --device D…) [--phase NAME:SIZE[:success=N][:failure=N][:abort]]… [--manual] [--timeout S] [--json]
  rollouts create (same options as plan) [--name N] [--watch]
  rollouts show|watch ID [--json]
  rollouts pause|resume|abort|rollback|advance ID

  registries ls [--json]               private registries with a stored login and its fleets (admin key)
  registries set HOST --username U --password-stdin
  registries rm HOST
  registries grant|revoke HOST FLEET   which fleets' admin-registered devices receive the login
  registries token-auth HOST [--ttl S] issue devices pull tokens for the project's registry

  delta FROM_IMAGE TO_IMAGE [--arch A]… [--json]
                                       compute binary layer deltas now (a CI step; default arch arm64; arm as arm/v7, arm/v6)

  sim --devices N [--telemetry-every S] [--apply-seconds S] [--failure-rate R] [--duration S]
                                       simulated devices against the control plane (BENCHMARKS.md)

  image build|configure …              build or configure a board image (see flotilla image --help)
  flash IMAGE TARGET                   write an image to a card, verified

environment: FLOTILLA_API (default http://127.0.0.1:3000), FLOTILLA_API_KEY (over the saved key)
exit codes: 0 ok, 1 API error or unreachable, 2 usage, 3 not found, 4 authentication or role,
            5 the watched rollout ended aborted or rolled back`;

/** `flotilla GROUP --help`: the lines of HELP about GROUP. */
export const helpFor = (group: string): string =>
  HELP.split('\n')
    .filter((l) => l.trimStart().startsWith(group) || l.startsWith('usage'))
    .join('\n');
