/**
 * Flags for the `node` process that runs the agent, for whatever starts it (the device
 * image's systemd unit and init script, agent/Dockerfile, the QEMU test's init, the benchmark). V8 sizes its young generation
 * for throughput: two semi-spaces that grow to 16 MB each, which an agent that allocates
 * little but does so steadily (telemetry, engine polls) fills and keeps resident. Capped at
 * 1 MB they cost 2 MB; scavenges run more often, which at the agent's rate is noise
 * (agent/bench, BENCHMARKS.md "agent"). `--lite-mode`: V8 without its optimizing compilers
 * (an interpreter and lazily allocated feedback), about 7 MB less RSS for an agent that is idle
 * nearly always and whose heavy work (hashing, TLS, JSON) is native code anyway;
 * `--no-expose-wasm` says explicitly what lite mode implies (it warns otherwise). V8 reads these
 * once at start-up, so they cannot be set from inside the process.
 */
export const AGENT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--lite-mode', '--no-expose-wasm'];
