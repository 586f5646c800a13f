// Fixed addresses of the services that `bash test/setup/ensure-services.sh`
// starts (it runs first in `npm test`). Tests import these instead of reading
// environment variables, so a plain `jest path/to/test` works the same way.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Throwaway PostgreSQL 15 on 127.0.0.1:55432, trust auth. */
export const TEST_DATABASE_URL: string = process.env.FLOTILLA_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:55432/flotilla_test';

/** Local registry (distribution 2.8), plain HTTP; 127.0.0.0/8 is an insecure registry by default. */
export const TEST_REGISTRY = '127.0.0.1:5000';

export interface TestImages {
  /** Static busybox image pinned by digest: `127.0.0.1:5000/flotilla/busybox@sha256:<64 hex>`. */
  busybox: string;
}

const IMAGES_JSON = join(__dirname, '.images.json');
const DIGEST_REF = /^127\.0\.0\.1:5000\/[a-z0-9/._-]+@sha256:[0-9a-f]{64}$/;

/** Digest-pinned test images, as written by build-test-images.sh. */
export function testImages(): TestImages {
  let text: string;
  try {
    text = readFileSync(IMAGES_JSON, 'utf8');
  } catch (err) {
    throw new Error(`${IMAGES_JSON} is missing: run \`bash test/setup/ensure-services.sh\` (as root) first`, { cause: err });
  }
  const parsed: unknown = JSON.parse(text);
  const busybox = (parsed as { busybox?: unknown } | null)?.busybox;
  if (typeof busybox !== 'string' || !DIGEST_REF.test(busybox)) {
    throw new Error(`${IMAGES_JSON} has no digest-pinned "busybox" reference: rerun \`bash test/setup/ensure-services.sh\``);
  }
  return { busybox };
}
