import { DOCKER_HUB, imageRegistry, isRegistryToken, type RegistryAuth } from '@flotilla/shared/device';
import { errorMessage } from '../support/errors';
import { statusCode } from './engine-answers';
import { ImageNotFoundError, ImagePullError, RegistryAuthError } from './errors';

/** `fromImage` and `tag` as the docker CLI sends them: a digest goes in `tag` too; no tag means `latest`, never every tag. */
export function pullQuery(ref: string): { fromImage: string; tag: string } {
  const at = ref.indexOf('@');
  if (at >= 0) return { fromImage: ref.slice(0, at), tag: ref.slice(at + 1) };
  const colon = ref.lastIndexOf(':');
  if (colon > ref.lastIndexOf('/')) return { fromImage: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { fromImage: ref, tag: 'latest' };
}

/**
 * How the engine words a registry's 401/403 (distribution's `unauthorized`/`denied` codes, the
 * engine's own "no basic auth credentials", Docker Hub's "may require 'docker login'").
 */
const AUTH_REFUSED = /no basic auth credentials|unauthorized|authentication required|\bdenied\b|may require 'docker login'/i;

/**
 * The engine's X-Registry-Auth; Docker Hub's login lives at its v1 index address. A token goes
 * as `registrytoken`, which the engine sends as `Bearer` as it is, without asking a realm.
 */
function authConfig(auth: RegistryAuth): Record<string, string> {
  const serveraddress = auth.registry === DOCKER_HUB ? 'https://index.docker.io/v1/' : auth.registry;
  if (isRegistryToken(auth)) return { registrytoken: auth.token, serveraddress };
  return { username: auth.username, password: auth.password, serveraddress };
}

/**
 * The engine decodes X-Registry-Auth with Go's padded URL-safe base64 (`base64.URLEncoding`),
 * so Node's unpadded `base64url` would be read as no login at all.
 */
export function registryAuthHeader(auth: RegistryAuth): string {
  return Buffer.from(JSON.stringify(authConfig(auth)))
    .toString('base64')
    .replace(/\+/g, '-')
    .replace(/\//g, '_');
}

export function pullError(ref: string, err: unknown, auth: RegistryAuth | undefined): Error {
  const detail = errorMessage(err);
  if ([401, 403].includes(statusCode(err) ?? 0) || AUTH_REFUSED.test(detail))
    return new RegistryAuthError(ref, imageRegistry(ref), detail, auth !== undefined);
  if (statusCode(err) === 404 || /manifest unknown|not found|does not exist/i.test(detail)) return new ImageNotFoundError(ref, detail);
  return new ImagePullError(ref, detail, err);
}
