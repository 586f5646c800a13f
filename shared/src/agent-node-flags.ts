/**
 * Flags for the `node` process that runs the agent, for whatever starts it (the device
 * image's systemd unit and init script, agent/Dockerfile, the QEMU test's init, the benchmark). V8 sizes its young generation
 * for throughput: two semi-spaces that grow to 16 MB each, which an agent that allocates
 * little but does so steadily (telemetry, engine polls) fills and keeps resident. Capped at
 * 1 MB they cost 2 MB; scavenges run more often, which at the agent's rate is noise
 * (agent/bench, BENCHMARKS.md "agent"). Not `--lite-mode`, although it saves about 7 MB: it
 * turns WebAssembly off, and Node's `fetch` parses HTTP with WebAssembly, so the agent's OS
 * download crashed the process (found by test/e2e/qemu-rpi-tryboot.e2e.test.ts). V8 reads these
 * once at start-up, so they cannot be set from inside the process.
 */
export const AGENT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];
