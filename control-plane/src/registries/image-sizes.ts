import { platformOfRequest, registryFacts, type HttpGet, type RegistryAuth } from '@flotilla/shared';

/** Compressed size of an image for one platform (`arm64`, `arm/v7`: linux), as its registry tells; undefined when it does not. */
export type ImageSizeLookup = (ref: string, architecture: string) => Promise<number | undefined>;

/**
 * One lookup per dry run: each (image, architecture) is asked once, with the access the control
 * plane has to the image's registry, if any. Registries that do not answer leave the size unknown.
 */
export function imageSizeLookup(accessFor: (ref: string) => Promise<RegistryAuth | undefined>, get: HttpGet): ImageSizeLookup {
  const asked = new Map<string, Promise<number | undefined>>();
  return (ref, architecture) => {
    const key = `${ref}\0${architecture}`;
    let size = asked.get(key);
    if (!size) {
      size = (async () => {
        const auth = await accessFor(ref);
        return (await registryFacts(ref, platformOfRequest(architecture), { get, ...(auth ? { auth } : {}) })).sizeBytes;
      })();
      asked.set(key, size);
    }
    return size;
  };
}
