import { Injectable } from '@nestjs/common';
import {
  ComponentManifest,
  contentDigest,
  loadYaml,
  pathOfUnstorable,
  UNSTORABLE_TEXT_MESSAGE,
  zodIssues,
  type ComponentLookup,
  type ComponentRef,
  type ComponentView,
} from '@flotilla/shared';
import { toComponentView } from './component.mapper';
import { ComponentRepository } from './component.repository';
import { ComponentNotFoundError, ComponentVersionConflictError, InvalidComponentError } from './library.errors';

export type AddComponentOutcome = { status: 'created' | 'already-published'; component: ComponentView };

/** Largest component manifest accepted. */
const MAX_COMPONENT_BYTES = 64 * 1024;

/** The component library: immutable `name@version` entries that assemblies reference. */
@Injectable()
export class LibraryService {
  constructor(private readonly components: ComponentRepository) {}

  /** `body` is YAML text or an already parsed JSON object. An identical re-upload is harmless. */
  async add(body: unknown, createdBy: string): Promise<AddComponentOutcome> {
    let input = body;
    if (typeof body === 'string') {
      const loaded = loadYaml(body, { maxBytes: MAX_COMPONENT_BYTES });
      if (!loaded.ok) throw new InvalidComponentError(loaded.issues);
      input = loaded.value;
    }
    const unstorableAt = pathOfUnstorable(input);
    if (unstorableAt !== undefined) throw new InvalidComponentError([{ path: unstorableAt, message: UNSTORABLE_TEXT_MESSAGE }]);
    const parsed = ComponentManifest.safeParse(input ?? {});
    if (!parsed.success) throw new InvalidComponentError(zodIssues(parsed.error));
    const manifest = parsed.data;
    const digest = contentDigest(manifest);
    const outcome = await this.components.insertUnlessVersionExists({
      name: manifest.name,
      version: manifest.version,
      image: manifest.image,
      description: manifest.description ?? null,
      manifest,
      digest,
      createdBy,
    });
    if (outcome.inserted) return { status: 'created', component: toComponentView(outcome.component) };
    if (outcome.existing.digest !== digest) throw new ComponentVersionConflictError(manifest.name, manifest.version);
    return { status: 'already-published', component: toComponentView(outcome.existing) };
  }

  async list(name?: string): Promise<ComponentView[]> {
    return (await this.components.listAll(name)).map(toComponentView);
  }

  async versions(name: string): Promise<ComponentView[]> {
    const versions = await this.list(name);
    if (versions.length === 0) throw new ComponentNotFoundError(name);
    return versions;
  }

  async get(name: string, version: string): Promise<ComponentView> {
    const row = await this.components.findVersion(name, version);
    if (!row) throw new ComponentNotFoundError(`${name}@${version}`);
    return toComponentView(row);
  }

  /** Loads every referenced component once, for the pure resolution in `parseAssembly`. */
  async lookupFor(refs: readonly ComponentRef[]): Promise<ComponentLookup> {
    const rows = await this.components.findVersions(refs);
    const found = new Map(rows.map((r) => [`${r.name}@${r.version}`, r.manifest]));
    return (name, version) => found.get(`${name}@${version}`);
  }
}
