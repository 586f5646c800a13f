// The simulated device grew into `flotilla sim`; tests keep importing it from here.
export { SimDevice, type SimDeviceOptions, type UpdateBehavior } from '@flotilla/cli/sim';
