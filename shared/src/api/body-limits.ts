import { MAX_DEVICE_ID_LENGTH, MAX_ROLLOUT_DEVICE_IDS } from './rollouts';

/** Room in the largest body for all but its device ids: ids, names, 20 phases' thresholds. */
const REST_OF_LARGEST_BODY = 64 * 1024;

/**
 * The JSON body limit of the API, from the largest body a schema accepts: a rollout request
 * (`POST /api/v1/rollouts`, `…/plan`) whose selection lists `MAX_ROLLOUT_DEVICE_IDS` ids of the
 * longest kind and whose phases list as many again, each id a quoted string and a comma in JSON
 * (device ids need no escaping). About 1.3 MiB; every other body is far smaller (a config map,
 * unbounded in keys, is bounded by this). Body-parser's default of 100 KB refused rollouts of
 * 1,500 devices that the schema allows.
 */
export const MAX_JSON_BODY_BYTES = 2 * MAX_ROLLOUT_DEVICE_IDS * (MAX_DEVICE_ID_LENGTH + '"",'.length) + REST_OF_LARGEST_BODY;
