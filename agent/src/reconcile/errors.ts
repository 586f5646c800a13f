import { AgentError } from '../support/errors';

/** A `service_healthy` dependency did not turn healthy in time: the release is at fault, not the network. */
export class HealthTimeoutError extends AgentError {
  readonly code = 'health-timeout';
  constructor(
    readonly component: string,
    timeoutMs: number,
    lastHealth: string,
  ) {
    super(`component "${component}" was not healthy after ${timeoutMs} ms (last health: ${lastHealth}); check its health check and logs`, {
      terminal: true,
    });
  }
}

/** A dependant waits for `service_healthy`, but the dependency has no health check or stopped. */
export class HealthUnavailableError extends AgentError {
  readonly code = 'health-unavailable';
  constructor(
    readonly component: string,
    reason: string,
  ) {
    super(`cannot wait for component "${component}" to be healthy: ${reason}; give it a health check or use condition service_started`, {
      terminal: true,
    });
  }
}

/** Plans kept producing steps: something undoes the agent's work (another tool, a crash loop). */
export class ReconcileNotConvergingError extends AgentError {
  readonly code = 'reconcile-not-converging';
  constructor(passes: number, remaining: string[]) {
    super(
      `state did not converge after ${passes} passes; still to do: ${remaining.join(', ')}; look for another tool changing flotilla_* containers`,
    );
  }
}
