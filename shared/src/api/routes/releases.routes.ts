import { ReleaseListQuery, ReleaseView } from '../dto';
import { ReleaseDiff } from '../library';
import { PageQuery } from '../pagination';
import { named, route } from '../route';
import { Release, list, yaml } from './views';

/** The routes of `control-plane/src/releases/releases.controller.ts`. */
export const RELEASES_ROUTES = {
  publish: route({
    method: 'post',
    path: '/api/v1/releases',
    tag: 'releases',
    summary: 'Publish a release from an assembly.yaml',
    description:
      'Releases are immutable: the same content under its name and version again answers 200 with the release. With an `Idempotency-Key`, a repeated request answers 200 with the release the first one created.',
    access: 'operator',
    headers: [{ name: 'Idempotency-Key', description: '1-128 of [A-Za-z0-9_.:-]; same key and body → same release' }],
    body: yaml('assembly.yaml'),
    status: 201,
    response: Release,
    errors: [
      {
        status: 409,
        description:
          'the name and version hold other content (`release_version_conflict`), or the key was used for another request (`idempotency_key_reused`)',
      },
    ],
  }),
  list: route({
    method: 'get',
    path: '/api/v1/releases',
    tag: 'releases',
    summary: 'List releases, newest first',
    access: 'viewer',
    query: ReleaseListQuery.extend(PageQuery.shape),
    status: 200,
    response: list('ReleasePage', ReleaseView),
  }),
  get: route({
    method: 'get',
    path: '/api/v1/releases/:id',
    tag: 'releases',
    summary: 'One release',
    access: 'viewer',
    status: 200,
    response: Release,
  }),
  diff: route({
    method: 'get',
    path: '/api/v1/releases/:id/diff/:otherId',
    tag: 'releases',
    summary: 'What changes from one release to another',
    access: 'viewer',
    status: 200,
    response: named('ReleaseDiff', ReleaseDiff),
  }),
};
