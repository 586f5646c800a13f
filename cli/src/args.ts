import { usage } from './errors';

export interface FlagSpec {
  /** Takes a value (`--limit 10` or `--limit=10`). */
  value?: boolean;
  /** May be given more than once; values are collected. */
  many?: boolean;
  short?: string;
}

export interface Parsed {
  positionals: string[];
  flags: Map<string, string[]>;
}

/**
 * A plain argv parser: `--flag`, `--flag value`, `--flag=value`, `-f`, and `--` to end flags.
 * Unknown flags are a usage error (a typo must not silently widen a rollout).
 */
export function parseArgs(argv: readonly string[], spec: Record<string, FlagSpec>): Parsed {
  const positionals: string[] = [];
  const flags = new Map<string, string[]>();
  const byShort = new Map(Object.entries(spec).flatMap(([name, s]) => (s.short ? [[s.short, name] as const] : [])));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
      inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    } else if (/^-[A-Za-z]$/.test(arg)) {
      name = byShort.get(arg.slice(1));
      if (!name) throw usage(`unknown option ${arg}`);
    } else {
      positionals.push(arg);
      continue;
    }
    const s = spec[name];
    if (!s) throw usage(`unknown option --${name}`);
    let value = 'true';
    if (s.value) {
      const next = inline ?? argv[++i];
      if (next === undefined) throw usage(`--${name} needs a value`);
      value = next;
    } else if (inline !== undefined) {
      throw usage(`--${name} takes no value`);
    }
    const seen = flags.get(name);
    if (seen && !s.many) throw usage(`--${name} given twice`);
    flags.set(name, [...(seen ?? []), value]);
  }
  return { positionals, flags };
}

export const flag = (p: Parsed, name: string): string | undefined => p.flags.get(name)?.at(-1);
export const flags = (p: Parsed, name: string): string[] => p.flags.get(name) ?? [];
export const has = (p: Parsed, name: string): boolean => p.flags.has(name);

export function intFlag(p: Parsed, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const raw = flag(p, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw usage(`--${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  return n;
}
