import type { z } from 'zod';

/**
 * Walks a protocol schema (zod 4) down to its leaves, and builds messages with every field at
 * its limit or one step past it. Used by the storable-bounds tests (shared and control plane),
 * so a field added to an uplink schema is covered without editing a test.
 */
type Def = {
  type: string;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  innerType?: z.ZodType;
  entries?: object;
  values?: unknown[];
};
const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

export type Leaf =
  | { path: string[]; kind: 'number'; min: number; max: number; int: boolean }
  | { path: string[]; kind: 'string'; minLength: number; maxLength: number; timestamp: boolean; uuid: boolean }
  | { path: string[]; kind: 'other'; type: string };

/** Every leaf of `schema` (through objects, arrays — path segment `0` — optional, nullable and default). */
export function leaves(schema: z.ZodType, path: string[] = []): Leaf[] {
  const def = defOf(schema);
  switch (def.type) {
    case 'object':
      return Object.entries(def.shape!).flatMap(([k, v]) => leaves(v, [...path, k]));
    case 'array':
      return leaves(def.element!, [...path, '0']);
    case 'optional':
    case 'nullable':
    case 'default':
      return leaves(def.innerType!, path);
    case 'number': {
      const n = schema as z.ZodNumber;
      return [{ path, kind: 'number', min: n.minValue ?? -Infinity, max: n.maxValue ?? Infinity, int: n.isInt }];
    }
    case 'string': {
      const s = schema as z.ZodString;
      const timestamp = s.format === 'datetime';
      const uuid = s.format === 'uuid';
      // Bounded by their format: an ISO 8601 instant (at most 35 characters with nanoseconds and an offset), a UUID (36).
      const bound = timestamp ? 35 : uuid ? 36 : Infinity;
      return [{ path, kind: 'string', minLength: s.minLength ?? 0, maxLength: s.maxLength ?? bound, timestamp, uuid }];
    }
    default:
      return [{ path, kind: 'other', type: def.type }];
  }
}

/** Odd but storable Unicode: a combining accent, an astral emoji (a surrogate pair), RTL override, zero-width joiner. */
const ODD = 'e\u0301\u{1F600}\u202E\u200D';

/**
 * A string of exactly `length` code points (what zod 4 and PostgreSQL count): up to 1,000 of
 * `ODD`, then `x`, so that the longest field still fits a payload (`MAX_PAYLOAD_BYTES` counts bytes).
 */
export function oddText(length: number): string {
  const unit = [...ODD].length;
  const odd = ODD.repeat(Math.floor(Math.min(length, 1_000) / unit));
  return odd + 'x'.repeat(length - [...odd].length);
}

export type End = 'max' | 'min';

/**
 * An instance of `schema` with every optional field present, every number at its `end`, every
 * string at its longest (odd Unicode) or shortest, timestamps at their earliest or latest, and
 * arrays of two elements. Nullable fields are null at `min`.
 */
export function extremeInstance(schema: z.ZodType, end: End): unknown {
  const def = defOf(schema);
  switch (def.type) {
    case 'object':
      return Object.fromEntries(Object.entries(def.shape!).map(([k, v]) => [k, extremeInstance(v, end)]));
    case 'array': {
      const item = extremeInstance(def.element!, end);
      return [item, item];
    }
    case 'optional':
    case 'default':
      return extremeInstance(def.innerType!, end);
    case 'nullable':
      return end === 'min' ? null : extremeInstance(def.innerType!, end);
    case 'number': {
      const n = schema as z.ZodNumber;
      return end === 'max' ? n.maxValue : n.minValue;
    }
    case 'string': {
      const s = schema as z.ZodString;
      if (s.format === 'datetime') return end === 'max' ? '9999-12-31T23:59:59.999Z' : '1970-01-01T00:00:00.000Z';
      if (s.format === 'uuid') return end === 'max' ? 'ffffffff-ffff-4fff-bfff-ffffffffffff' : '00000000-0000-4000-8000-000000000000';
      return end === 'max' ? oddText(s.maxLength ?? 0) : 'x'.repeat(s.minLength ?? 0);
    }
    case 'enum':
      return Object.values(def.entries!).at(end === 'max' ? -1 : 0);
    case 'literal':
      return def.values![0];
    case 'boolean':
      return end === 'max';
    case 'record':
      return {};
    default:
      throw new Error(`extremeInstance: no rule for a ${def.type} schema`);
  }
}

/** The values one step past a leaf's limits (each should be refused). */
export function pastLimits(leaf: Leaf): unknown[] {
  if (leaf.kind === 'number') {
    const past = [
      leaf.max + (leaf.int ? 1 : 1e-6 * Math.max(1, Math.abs(leaf.max))),
      leaf.min - (leaf.int ? 1 : 1e-6 * Math.max(1, Math.abs(leaf.min))),
    ];
    return leaf.int ? [...past, leaf.min + 0.5] : past;
  }
  if (leaf.kind === 'string') {
    if (leaf.timestamp)
      return [
        '0000-01-01T00:00:00Z',
        '1969-12-31T23:59:59.999Z',
        '+010000-01-01T00:00:00Z',
        '9999-12-31T23:59:59-14:00',
        // Offsets of 16 h and more, and fractions finer than microseconds: valid ISO 8601 that PostgreSQL refuses or rounds.
        '2026-01-01T12:00:00+16:00',
        '2026-01-01T12:00:00-23:59',
        '2026-01-01T12:00:00.1234567Z',
      ];
    if (leaf.uuid) return ['', 'seq-1', 'ffffffff-ffff-4fff-bfff-fffffffffffff', 'ffffffff-ffff-4fff-bfff-fffffffffff\u0000'];
    return [
      oddText(leaf.maxLength + 1),
      'a\u0000b',
      'a\uD800b',
      'a\uDC00',
      ...(leaf.minLength > 0 ? ['x'.repeat(leaf.minLength - 1)] : []),
    ];
  }
  return [];
}

/** `value` with the field at `path` (array index `0`) replaced by `replacement`. */
export function withValue(value: unknown, path: string[], replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const [head, ...rest] = path;
  if (Array.isArray(value)) return value.map((v, i) => (String(i) === head ? withValue(v, rest, replacement) : v));
  const obj = value as Record<string, unknown>;
  return { ...obj, [head!]: withValue(obj[head!], rest, replacement) };
}
