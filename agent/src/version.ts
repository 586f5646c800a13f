/** Reported to the control plane in every `reported` message; keep in step with package.json. */
export const AGENT_VERSION = '0.1.0';
