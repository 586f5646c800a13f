/**
 * The packages that take most of the control plane's load time (~0.9 s on a quiet machine, ~2.5 s
 * on one busy with a reconnect storm), in the order its code imports them: `main.ts` loads them one
 * at a time before the rest of the code, the MQTT ports accepting between them. `reflect-metadata`
 * first, as `bootstrap.ts` has it, since decorators read it as they load. Every entry is a
 * dependency in package.json (load-in-turns.int.test.ts); one left out only makes a longer load.
 */
export const DEPENDENCIES_IN_TURNS: readonly string[] = [
  'reflect-metadata',
  'rxjs',
  '@nestjs/common',
  '@nestjs/core',
  '@nestjs/platform-express',
  'typeorm',
  '@nestjs/typeorm',
  'pg',
  '@peculiar/x509',
  'aedes',
  'ws',
  'yaml',
  'zod',
  '@flotilla/shared',
];

/**
 * Loads `ids` one at a time with `between` after each. Loading code is synchronous: one `require` of
 * the whole control plane held the event loop for seconds, and the MQTT ports opened before it
 * (broker/waiting-listeners.ts) accepted nothing meanwhile. A fleet reconnecting after a restart
 * filled their accept queue within a second; the kernel dropped the rest, 15,000–44,000 SYNs in a
 * 10,000-device restart, and those devices waited out TCP's retries (1 s, then 3 s more) after the
 * broker was ready (BENCHMARKS.md, "restart"). With the ports' `drain` between the loads, the queue
 * holds at most one load's worth of connects.
 */
export async function loadInTurns(ids: readonly string[], load: (id: string) => unknown, between: () => Promise<void>): Promise<void> {
  for (const id of ids) {
    load(id);
    await between();
  }
}
