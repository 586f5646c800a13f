/**
 * Flags for the `node` process that runs the control plane, for whatever starts it
 * (control-plane/Dockerfile's CMD, which Compose, the HA stack and Kubernetes run; `npm start`;
 * the benchmarks' ControlPlaneProcess). V8 reads them once at start-up, so they cannot be set
 * from inside the process; test/integration/control-plane-node-flags.test.ts keeps those places
 * in step with this list.
 *
 * `--max-semi-space-size=64`: V8's young generation grows to two semi-spaces of 16 MB by
 * default. A fan-out or a connect storm allocates short-lived objects (packets, rows, the promises
 * of one device's turn) at a rate that fills them quickly, and each scavenge copies what is still
 * in flight: the garbage collector was ~17 % of the control plane's CPU in a 10,000-device
 * fan-out. 64 MB semi-spaces let most of that die before a scavenge sees it: ~11 % less
 * control-plane CPU per message in a fan-out, a connect storm 1.3–1.4× the bare broker's instead
 * of 1.4–1.7× (BENCHMARKS.md, "session 12"). They grow only under that pressure; they may hold up
 * to ~100 MB more while it lasts, and fewer objects reach the old generation.
 */
export const CONTROL_PLANE_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64'];
