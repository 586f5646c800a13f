/**
 * What every session the control plane opens to PostgreSQL starts with (its pool, and the
 * connections that listen for notifications), as the startup packet's `options`.
 *
 * JIT off. PostgreSQL compiles a query to machine code once its estimated cost passes
 * `jit_above_cost`, whatever the query actually costs, and the control plane's queries are short.
 * A rollout pass's read of 10,000 devices' reports, estimated from stale statistics at 90,000
 * rows, took 184–230 ms in two runs, 135–190 ms of it compiling (inlining and optimising). Every
 * pass of a rollout paid that, on the cores the fan-out and the broker need
 * (control-plane/bench/rollout.bench.ts; BENCHMARKS.md "session 13").
 *
 * A DATABASE_URL that sets `options` itself replaces these: node-postgres lets the URL win.
 */
export const SESSION_OPTIONS = '-c jit=off';
