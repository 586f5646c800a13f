/**
 * An image reference as the Docker Engine parses it (distribution's reference grammar):
 * `[host[:port]/]path[:tag][@sha256:<64 hex>]`, path components lower-case. The first
 * component is a host only when it has a dot or a port or is `localhost`, as `imageRegistry`
 * reads it. A reference outside this grammar would be refused by every device's engine, or
 * reach its API paths (`/images/<ref>/json`) with characters that change their meaning.
 */
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const HOST = `(?:localhost(?::[0-9]{1,5})?|${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})+(?::[0-9]{1,5})?|${DOMAIN_COMPONENT}:[0-9]{1,5})`;
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const NAME = `(?:${HOST}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;

export const IMAGE_REFERENCE_PATTERN = new RegExp(`^(${NAME})(?::[\\w][\\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$`);

/** What the engine allows a repository name to be, host included. */
export const MAX_IMAGE_NAME_LENGTH = 255;

export const IMAGE_REFERENCE_HINT =
  'expected an image reference such as "busybox", "registry.example:5000/team/web:1.2" or "…@sha256:<64 lower-case hex>" (path in lower case)';

export function isImageReference(ref: string): boolean {
  const m = IMAGE_REFERENCE_PATTERN.exec(ref);
  return m !== null && m[1]!.length <= MAX_IMAGE_NAME_LENGTH;
}
