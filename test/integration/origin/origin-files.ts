// Reads origin's committed files (components/*/component.yaml, assemblies/origin/assembly.yaml)
// and what test/setup/build-origin-images.sh generated (.images.json, .resolved.yaml).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ComponentManifest, type ComponentLookup } from '@flotilla/shared';

export const REPO_ROOT = join(__dirname, '..', '..', '..');
export const COMPONENTS_DIR = join(REPO_ROOT, 'components');
export const ORIGIN_DIR = join(REPO_ROOT, 'assemblies', 'origin');
export const ORIGIN_COMPONENTS = ['device-status', 'mqtt-broker', 'sensor-sim'] as const;
export type OriginComponent = (typeof ORIGIN_COMPONENTS)[number];
export const PLATFORMS = ['linux/amd64', 'linux/arm64'] as const;
export type Platform = (typeof PLATFORMS)[number];

export function componentNames(): string[] {
  return readdirSync(COMPONENTS_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

/** component.yaml as committed: a ComponentManifest except that its image is a tag. */
export function componentYaml(name: string): Record<string, unknown> {
  return parse(readFileSync(join(COMPONENTS_DIR, name, 'component.yaml'), 'utf8')) as Record<string, unknown>;
}

export function readOriginFile(name: string): string {
  return readFileSync(join(ORIGIN_DIR, name), 'utf8');
}

export interface BuiltComponent {
  version: string;
  /** The multi-arch manifest list, by digest. */
  image: string;
  tag: string;
  platforms: Record<Platform, { image: string; compressedBytes: number }>;
  manifest: unknown;
}

export interface BuiltImages {
  recipe: string;
  registry: string;
  components: Record<OriginComponent, BuiltComponent>;
}

/** .images.json, as written by the build script; a clear error when it has not run. */
export function builtImages(): BuiltImages {
  let text: string;
  try {
    text = readOriginFile('.images.json');
  } catch (err) {
    throw new Error('assemblies/origin/.images.json is missing: run `bash test/setup/build-origin-images.sh` (as root) first', {
      cause: err,
    });
  }
  return JSON.parse(text) as BuiltImages;
}

/** A library lookup over the given manifests, as the control plane's would be. */
export function lookupOf(manifests: unknown[]): ComponentLookup {
  const parsed = manifests.map((m) => ComponentManifest.parse(m));
  return (name, version) => parsed.find((m) => m.name === name && m.version === version);
}
