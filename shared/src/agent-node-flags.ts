/**
 * Flags for the `node` process that runs the agent, for whatever starts it (the device
 * image's systemd unit and init script, agent/Dockerfile, the QEMU test's init, the benchmark).
 * V8 reads these once at start-up, so they cannot be set from inside the process.
 *
 * `--max-semi-space-size=1`: V8 sizes its young generation for throughput, two semi-spaces
 * that grow to 16 MB each, which an agent that allocates little but steadily (telemetry,
 * engine polls) fills and keeps resident. Capped at 1 MB they cost 2 MB; scavenges run more
 * often, which at the agent's rate is noise (agent/bench, BENCHMARKS.md "agent").
 *
 * `--lite-mode`: no optimizing compilers and no feedback vectors until needed, about 8 MB less
 * at idle. It also turns WebAssembly off, which Node's `fetch` needs (undici parses HTTP with
 * it): the agent therefore never uses `fetch`, every request goes through node:http(s)
 * (support/http-get.ts), and test/e2e/agent-lite-mode.e2e.test.ts runs the bundle with these
 * flags through registration, an update and an OS download.
 */
export const AGENT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--lite-mode'];
