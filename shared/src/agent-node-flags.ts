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

/**
 * Environment for the agent's process, beside AGENT_NODE_FLAGS (the systemd unit's
 * Environment= lines, the init script, agent/Dockerfile, the benchmark). glibc's malloc reads
 * these at start-up; other C libraries ignore them.
 *
 * Parsing and compiling the bundle at start allocates a few MB through malloc that are freed
 * at once, but glibc returns its main heap to the system only from the top and only past
 * 128 KB free there, and keeps one arena per thread: what V8's parser used stayed resident,
 * about 1.5 MB of the idle agent (BENCHMARKS.md "agent"). One arena, no top padding, trimming
 * past 64 KB and blocks of 64 KB or more in their own mappings give it back. The cost is a few
 * more brk/mmap calls, which at the agent's allocation rate do not show in its CPU.
 */
export const AGENT_NODE_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '1',
  MALLOC_TOP_PAD_: '0',
  MALLOC_TRIM_THRESHOLD_: '65536',
  MALLOC_MMAP_THRESHOLD_: '65536',
};
