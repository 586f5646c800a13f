import type { ComponentSpec } from '@flotilla/shared/device';
import type { ManagedContainer } from '../runtime/container-runtime';

/** What the engine holds right now, as far as the agent manages it. */
export interface ObservedState {
  containers: ManagedContainer[];
  /** Full engine names (`flotilla_<assembly>_<name>`) of managed networks. */
  networks: string[];
  volumes: string[];
  /** The target's image references already present on the engine. */
  images: string[];
}

/** What should run: one assembly of one release, with device configuration applied. */
export interface TargetState {
  assembly: string;
  releaseId: string;
  components: TargetComponent[];
  /** Full engine names, as in `ObservedState`. */
  networks: string[];
  volumes: string[];
}

export interface TargetComponent {
  containerName: string;
  /** The release's spec with the device configuration merged into `environment`. */
  spec: ComponentSpec;
  /** Equal hashes mean an identical container: nothing to do. */
  specHash: string;
}
