/** The fleet simulator as a library: the control plane's `--demo`, benchmarks and tests run it in-process. */
export { DEMO_FAILING_DEVICES, DEMO_HOST_POLICY, demoSimulation } from './demo';
export { SimDevice } from './sim-device';
export type { SimDeviceOptions, UpdateBehavior } from './sim-device-options';
export * from './simulation';
