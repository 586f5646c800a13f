import type { Client } from './client';
import type { CliConfig, Env } from './config';

/** What every command gets: the API, the config, and where to write. Injected so tests can run commands in-process. */
export interface Context {
  api: Client;
  config: CliConfig;
  env: Env;
  out: (line: string) => void;
  err: (line: string) => void;
  /** Raw writes, for redrawing progress in place. */
  write: (text: string) => void;
  isTTY: boolean;
  sleep: (ms: number) => Promise<void>;
  /** All of standard input (a password piped in). */
  stdin: () => Promise<string>;
}

export const printJson = (ctx: Context, value: unknown) => ctx.out(JSON.stringify(value, null, 2));
