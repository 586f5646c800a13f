/**
 * `@flotilla/shared/device`: what a device needs of the protocol, and nothing of the control
 * plane's API, dashboard or YAML. The agent imports only this entry (an ESLint wall keeps it so):
 * every schema of the full entry is built when it loads, which on a device costs RSS for good
 * (BENCHMARKS.md "agent").
 */
export * from './protocol/messages/envelope';
export * from './protocol/messages/desired';
export * from './protocol/messages/reported';
export * from './protocol/messages/device-facts';
export * from './protocol/messages/events';
export * from './protocol/messages/commands';
export * from './protocol/messages/channels';
export * from './protocol/provisioning';
export * from './protocol/registration';
export * from './protocol/storable';
export * from './protocol/topics';
export * from './protocol/update-policy';
export * from './protocol/desired-signing';
export * from './protocol/command-signing';
export * from './protocol/desired-admission';
export * from './protocol/server-busy';
export * from './protocol/reconnect';
export * from './assembly/spec';
export * from './assembly/canonical';
export * from './assembly/agent-release';
export * from './assembly/os-image';
export * from './assembly/image-reference';
export * from './boards/board-spec';
export * from './boards/autoboot';
export * from './boards/cmdline';
export * from './windows/maintenance-window';
export * from './releases/signing';
export * from './registries/registry-auth';
export * from './registries/platform';
export * from './registries/registry-client';
export * from './agent-node-flags';
export { EndorsedReleaseKey, KeyEndorsement, keyEndorsementPayload, verifyKeyEndorsement } from './api/signing-keys';
export * from './deltas/image-delta';
