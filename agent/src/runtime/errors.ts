import { AgentError } from '../support/errors';

/** The registry answered that the image does not exist: pulling again will not help. */
export class ImageNotFoundError extends AgentError {
  readonly code = 'image-not-found';
  constructor(
    readonly image: string,
    detail: string,
  ) {
    super(`image ${image} was not found in its registry (${detail}); publish a release that references an existing image`, {
      terminal: true,
    });
  }
}

/**
 * The registry refused the pull (HTTP 401/403): the device has no login for it, or a wrong one.
 * Retrying will not help until an administrator stores the right one and the release is
 * assigned again (the control plane sends logins with each `desired`).
 */
export class RegistryAuthError extends AgentError {
  readonly code = 'registry-unauthorized';
  constructor(
    readonly image: string,
    readonly registry: string,
    detail: string,
    hadCredentials: boolean,
  ) {
    const why = hadCredentials
      ? `the credentials or token this device was given for ${registry} were refused`
      : `this device has no credentials for ${registry}`;
    super(
      `registry ${registry} refused to serve image ${image} (${detail}): ${why}; an admin sets credentials with PUT /api/v1/registries/${registry}/credentials and grants them to the device's fleet (PUT /api/v1/registries/${registry}/grants/FLEET_ID), or marks the registry token-issued (PUT /api/v1/registries/${registry}/token-auth); then assign the release again`,
      { terminal: true },
    );
  }
}

/**
 * A release names an image outside the engine's reference grammar. The agent puts references
 * in engine API paths (`/images/<ref>`), where "?" or "/.." would change what is asked; the
 * control plane refuses them since, but a release published before is still delivered.
 */
export class InvalidImageReferenceError extends AgentError {
  readonly code = 'invalid-image-reference';
  constructor(readonly image: string) {
    super(`image reference ${JSON.stringify(image)} is not one the engine parses; publish a release with a valid reference`, {
      terminal: true,
    });
  }
}

/** The pull failed for another reason (registry unreachable, disk full): retried with backoff. */
export class ImagePullError extends AgentError {
  readonly code = 'image-pull-failed';
  constructor(
    readonly image: string,
    detail: string,
    cause?: unknown,
  ) {
    super(`pulling image ${image} failed: ${detail}; check the device's network and free disk space`, { cause });
  }
}

/** Any other engine call that failed; `operation` names it, `target` the object it acted on. */
export class EngineError extends AgentError {
  readonly code = 'engine-failed';
  constructor(
    readonly operation: string,
    readonly target: string,
    detail: string,
    cause?: unknown,
  ) {
    super(`container engine could not ${operation} ${target}: ${detail}; check that dockerd is running and its log`, { cause });
  }
}

/**
 * A network or volume of the name the agent needs exists but is not the agent's (no
 * managed label, or another agent's scope). Adopting it could hand an assembly someone
 * else's data; waiting will not change it.
 */
export class ForeignResourceError extends AgentError {
  readonly code = 'foreign-resource';
  constructor(
    readonly kind: 'network' | 'volume',
    readonly resourceName: string,
  ) {
    super(
      `${kind} ${resourceName} exists but was not created by this agent; remove or rename it (docker ${kind} rm ${resourceName}), then apply again`,
      {
        terminal: true,
      },
    );
  }
}

/** DOCKER_HOST names an address the agent cannot reach (ssh://, TLS): a configuration no restart fixes. */
export class EngineAddressError extends AgentError {
  readonly code = 'engine-address-unsupported';
  constructor(readonly address: string) {
    super(`DOCKER_HOST=${address} is not supported: use unix:///path/to/docker.sock or tcp://host:port (plain HTTP)`, { terminal: true });
  }
}

/**
 * The engine accepted a call and then sent nothing for `limitMs`: dockerd hung, or its disk did.
 * Transient: the step that made the call is retried with backoff, and a restarted dockerd answers.
 */
export class EngineSilentError extends AgentError {
  readonly code = 'engine-silent';
  constructor(
    readonly method: string,
    readonly path: string,
    readonly limitMs: number,
  ) {
    super(
      `the container engine sent nothing for ${limitMs / 1000} s on ${method} ${path.split('?')[0]}; the agent will try again — if it goes on, check dockerd (systemctl status docker, journalctl -u docker) and the disk holding its data`,
    );
  }
}

/**
 * A bind mount's host path is not the directory it names (see `bind-sources.ts`): mounting it
 * could reach beyond what the fleet's host policy allows. The release cannot run here as it is.
 */
export class UnsafeBindSourceError extends AgentError {
  readonly code = 'unsafe-bind-source';
  constructor(
    readonly component: string,
    readonly source: string,
    why: string,
  ) {
    super(
      `component ${component} asks to bind-mount ${source}, which is refused because ${why}; publish a release that names the real directory`,
      { terminal: true },
    );
  }
}
