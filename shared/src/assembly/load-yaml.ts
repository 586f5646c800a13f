import { pathOfUnstorable, UNSTORABLE_TEXT_MESSAGE } from '../api/unstorable';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';

/** One thing wrong with a manifest, at a dotted path such as `services.web.ports.0`. */
export interface ManifestIssue {
  path: string;
  message: string;
}

export type LoadYamlResult = { ok: true; value: unknown } | { ok: false; issues: ManifestIssue[] };

/**
 * What a YAML document sent to the API may cost. Every step after parsing (schema, digest,
 * storage, delivery to devices) is linear in the data, so bounding the data bounds the work.
 */
export interface YamlLimits {
  /** UTF-8 bytes of the text. */
  maxBytes: number;
  /** Nesting of maps and lists; a real manifest uses about 6. */
  maxDepth: number;
  /** Map keys plus list items, counted again each time an alias repeats them. */
  maxEntries: number;
  /** Alias nodes (`*name`) in the text; the YAML library resolves each in time linear in the document. */
  maxAliases: number;
}

/** Largest `assembly.yaml` accepted: far above any real one, small enough to parse safely. */
export const MAX_MANIFEST_BYTES = 256 * 1024;

export const MANIFEST_YAML_LIMITS: YamlLimits = { maxBytes: MAX_MANIFEST_BYTES, maxDepth: 32, maxEntries: 10_000, maxAliases: 100 };

/**
 * YAML text to plain data, in time linear in the text, or the reasons it was refused: too
 * large, too deep, too many entries or aliases (an "alias bomb"), a syntax error, or a
 * duplicate key. Never throws for any input.
 */
export function loadYaml(text: string, limits: Partial<YamlLimits> = {}): LoadYamlResult {
  const max = { ...MANIFEST_YAML_LIMITS, ...limits };
  // UTF-8 never takes fewer bytes than UTF-16 code units, so a long string is refused before encoding it.
  if (text.length > max.maxBytes || new TextEncoder().encode(text).length > max.maxBytes) {
    return refused('', `the document is larger than ${max.maxBytes} bytes`);
  }
  if (text.includes('\0')) return refused('', 'the document holds a NUL character, which cannot be stored');
  const lines = new LineCounter();
  // The library's own duplicate-key check compares each key with every earlier one of its map
  // (quadratic: 40,000 keys took 10 s); checkTree does it with one set per map.
  const doc = parseDocument(text, { uniqueKeys: false, prettyErrors: false, lineCounter: lines });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      issues: doc.errors.map((e) => ({
        path: '',
        // The parser recurses per level of flow nesting and reports running out of stack as this code.
        message:
          e.code === 'RESOURCE_EXHAUSTION'
            ? `YAML: nested too deeply to parse (line ${lines.linePos(e.pos[0]).line})`
            : `YAML: ${e.message.split('\n')[0]} (line ${lines.linePos(e.pos[0]).line})`,
      })),
    };
  }
  const treeIssues = checkTree(doc.contents, max, lines);
  if (treeIssues.length > 0) return { ok: false, issues: treeIssues };
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: max.maxAliases });
  } catch (e) {
    // The library throws a ReferenceError for an alias naming no anchor, and for aliases
    // nested in aliases that would repeat values past the count (the "billion laughs" shape).
    const message = (e as Error).message;
    return refused(
      '',
      message.startsWith('Excessive alias count')
        ? `YAML alias expansion refused: aliases nested in aliases would repeat values more than ${max.maxAliases} times (an alias bomb)`
        : `YAML alias: ${message}`,
    );
  }
  const sizeIssue = expandedSizeIssue(value, max);
  if (sizeIssue) return sizeIssue;
  // A "\0" or "\ud800" escape in a quoted scalar; PostgreSQL stores neither as it is.
  const unstorableAt = pathOfUnstorable(value);
  return unstorableAt === undefined ? { ok: true, value } : refused(unstorableAt, UNSTORABLE_TEXT_MESSAGE);
}

function refused(path: string, message: string): LoadYamlResult {
  return { ok: false, issues: [{ path, message }] };
}

interface Visit {
  node: unknown;
  path: (string | number)[];
  depth: number;
}

/** One pass over the syntax tree, without recursion (a deep document must not overflow the stack). */
function checkTree(root: unknown, max: YamlLimits, lines: LineCounter): ManifestIssue[] {
  const issues: ManifestIssue[] = [];
  const stack: Visit[] = [{ node: root, path: [], depth: 0 }];
  let entries = 0;
  let aliases = 0;
  const lineOf = (n: YamlNode) => lines.linePos(n.range?.[0] ?? 0).line;
  while (stack.length > 0 && issues.length < 20) {
    const { node, path, depth } = stack.pop()!;
    if (isAlias(node) && ++aliases > max.maxAliases) {
      return [{ path: path.join('.'), message: `more than ${max.maxAliases} YAML aliases (*name); write the values out` }];
    }
    if (!isMap(node) && !isSeq(node)) continue;
    if (depth >= max.maxDepth) return [{ path: path.join('.'), message: `nested deeper than ${max.maxDepth} levels` }];
    entries += node.items.length;
    if (entries > max.maxEntries) return [{ path: '', message: `more than ${max.maxEntries} keys and list items` }];
    if (isSeq(node)) {
      // Pushed last first, so that items are visited in document order (the first alias past the limit is named).
      for (let i = node.items.length - 1; i >= 0; i--) stack.push({ node: node.items[i], path: [...path, i], depth: depth + 1 });
      continue;
    }
    const seen = new Map<string, number>();
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const key = pair.key;
      if (!isScalar(key) || (key.value !== null && typeof key.value === 'object')) {
        issues.push({ path: path.join('.'), message: 'a key must be a plain string or number' });
        continue;
      }
      // The property name the key becomes in the parsed object: `1` and `"1"` are one key.
      const name = key.value === null || key.value === undefined ? '' : String(key.value as string | number | boolean);
      const first = seen.get(name);
      if (first !== undefined) {
        issues.push({ path: [...path, name].join('.'), message: `duplicate key "${name}" (line ${lineOf(key)}, first at line ${first})` });
      } else {
        seen.set(name, lineOf(key));
      }
      stack.push({ node: pair.value, path: [...path, name], depth: depth + 1 });
    }
  }
  return issues;
}

/**
 * Aliases share one object in the parsed value, but everything downstream (schema, digest,
 * JSON) repeats it, so the entries are counted as expanded; the count stops at the limit.
 */
function expandedSizeIssue(value: unknown, max: YamlLimits): LoadYamlResult | undefined {
  const stack: { v: unknown; depth: number }[] = [{ v: value, depth: 0 }];
  let entries = 0;
  while (stack.length > 0) {
    const { v, depth } = stack.pop()!;
    const children = Array.isArray(v) ? v : isPlainObject(v) ? Object.values(v) : undefined;
    if (!children) continue;
    if (depth >= max.maxDepth) return refused('', `nested deeper than ${max.maxDepth} levels once YAML aliases are expanded`);
    entries += children.length;
    if (entries > max.maxEntries) {
      return refused('', `more than ${max.maxEntries} keys and list items once YAML aliases are expanded (an alias bomb?)`);
    }
    for (const c of children) stack.push({ v: c, depth: depth + 1 });
  }
  return undefined;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;
}
