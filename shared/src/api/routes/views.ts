import { DeviceView, ReleaseView } from '../dto';
import { FleetView } from '../fleets';
import { ComponentView } from '../library';
import { pageOf } from '../pagination';
import { RolloutView } from '../rollouts';
import { named, type MediaBody } from '../route';

/** Answers many routes share, under one name in `components.schemas`. */
export const Device = named('DeviceView', DeviceView);
export const Release = named('ReleaseView', ReleaseView);
export const Fleet = named('FleetView', FleetView);
export const Rollout = named('RolloutView', RolloutView);
export const Component = named('ComponentView', ComponentView);

export const list = <T extends Parameters<typeof pageOf>[0]>(name: string, item: T) => named(name, pageOf(item));
export const yaml = (what: string): MediaBody => ({ mediaType: 'application/yaml', description: what });
