import { ImageDelta, ImageDeltaRequest } from '../../deltas/image-delta';
import { named, route } from '../route';

/** The routes of `control-plane/src/deltas/deltas.controller.ts`. */
export const DELTAS_ROUTES = {
  forDevice: route({
    method: 'get',
    path: '/api/v1/device-deltas',
    tag: 'deltas',
    summary: 'A device asks for the binary layer deltas from an image it holds to one of its desired release',
    description:
      'HTTP Basic with the device id and password. Query: from, to (images pinned by digest), architecture (with the arm variant: arm64, arm/v7, amd64). The first request starts the computation (status computing); ask again until ready or failed.',
    access: 'public',
    status: 200,
    response: named('ImageDelta', ImageDelta),
  }),
  blobForDevice: route({
    method: 'get',
    path: '/api/v1/device-deltas/blobs/:digest',
    tag: 'deltas',
    summary: 'A device downloads one delta file (zstd --patch-from) by its digest',
    access: 'public',
    status: 200,
    response: { mediaType: 'application/octet-stream', description: 'the delta file' },
  }),
  compute: route({
    method: 'post',
    path: '/api/v1/deltas',
    tag: 'deltas',
    summary: 'Compute the binary layer deltas between two images now (flotilla delta, in CI) and wait for them',
    access: 'operator',
    body: named('ImageDeltaRequest', ImageDeltaRequest),
    status: 201,
    response: named('ImageDelta', ImageDelta),
  }),
};
