/**
 * Flags for the `node` process that runs the agent, for whatever starts it (the device
 * image's systemd unit and init script, agent/Dockerfile, the QEMU test's init, the benchmark). V8 sizes its young generation
 * for throughput: two semi-spaces that grow to 16 MB each, which an agent that allocates
 * little but does so steadily (telemetry, engine polls) fills and keeps resident. Capped at
 * 1 MB they cost 2 MB; scavenges run more often, which at the agent's rate is noise
 * (agent/bench, BENCHMARKS.md "agent"). V8 reads the size once at start-up, so it cannot
 * be set from inside the process.
 */
export const AGENT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];
