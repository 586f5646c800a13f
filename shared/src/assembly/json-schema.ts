import { z } from 'zod';
import { AssemblyManifest } from './manifest';
import { BoardSpec } from '../boards/board-spec';

/**
 * JSON Schemas for editors (YAML language servers read `# yaml-language-server: $schema=…`).
 * Generated from the zod schemas so there is one source of truth; `schema/*.json` are
 * committed copies, and a unit test fails when they drift.
 */
export function assemblyJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(AssemblyManifest, { io: 'input', unrepresentable: 'any' }),
    $id: 'urn:flotilla:schema:assembly:v1',
    title: 'Flotilla assembly (a Compose file with an x-flotilla block)',
  };
}

export function boardSpecJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(BoardSpec, { io: 'input', unrepresentable: 'any' }),
    $id: 'urn:flotilla:schema:board-spec:v1',
    title: 'Flotilla board spec',
  };
}
