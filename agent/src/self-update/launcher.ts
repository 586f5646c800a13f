#!/usr/bin/env node
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { unsafeDirReason } from '../support/private-dir';
import {
  AGENT_FILE,
  ALTS_ENV,
  altsPaths,
  describeTrialFailure,
  META_FILE,
  type AgentMeta,
  type FailureRecord,
  type TrialFailure,
  type TrialRecord,
} from './alts';

/**
 * The agent's launcher: what the systemd unit (or init script) runs instead of the agent.
 * It starts `alts/current/agent.js`, or the agent it was given when no version was ever
 * installed. When the agent has installed a new version (`alts/new`) and exits, the
 * launcher switches (`old` ← `current` ← `new`) and gives the new agent until a deadline
 * to connect and send its first `reported` (the agent then deletes `trial.json`). An agent
 * that exits before that, or is still silent at the deadline, is stopped; the launcher
 * switches back to `old`, marks the version `broken` and leaves `failure.json` for the old
 * agent to report. Node built-ins only, synchronous file work: it must not be what breaks.
 *
 * Usage: launcher.js BASE_AGENT_JS [agent arguments]; FLOTILLA_STATE_DIR as for the agent;
 * FLOTILLA_AGENT_TRIAL_MS the deadline (default 120000).
 */

const STOP_GRACE_MS = 15_000;
/** EX_CONFIG, as the agent exits on an unsafe state dir: the unit does not restart it. */
const EXIT_CONFIG = 78;

const base = process.argv[2];
if (!base) {
  process.stderr.write('usage: launcher.js BASE_AGENT_JS [agent arguments]\n');
  process.exit(2);
}
const args = process.argv.slice(3);
const paths = altsPaths(join(process.env.FLOTILLA_STATE_DIR || '/var/lib/flotilla', 'alts'));
const trialMs = Number(process.env.FLOTILLA_AGENT_TRIAL_MS) || 120_000;
let child: ChildProcess | undefined;
let stopping = false;

function log(message: string, fields: Record<string, unknown> = {}): void {
  process.stderr.write(`${JSON.stringify({ at: new Date().toISOString(), level: 'info', msg: `launcher: ${message}`, ...fields })}\n`);
}

function target(link: string): string | undefined {
  try {
    return readlinkSync(link);
  } catch {
    return undefined;
  }
}

/** Points `link` at `dir` (relative to alts/) atomically, or removes it when `dir` is undefined. */
function point(link: string, dir: string | undefined): void {
  const tmp = `${link}.tmp`;
  rmSync(tmp, { force: true });
  if (dir === undefined) return rmSync(link, { force: true });
  symlinkSync(dir, tmp);
  renameSync(tmp, link);
}

function meta(dir: string | undefined): AgentMeta | undefined {
  if (!dir) return undefined;
  try {
    return JSON.parse(readFileSync(join(paths.dir, dir, META_FILE), 'utf8')) as AgentMeta;
  } catch {
    return undefined;
  }
}

/**
 * The trial record; undefined when there is none (or the agent committed first). Read while no agent
 * runs, and left in place until `fallBack` has moved the links back: a power cut during the fallback
 * then finds it again at the next start.
 */
function readTrial(): TrialRecord | undefined {
  let text: string;
  try {
    text = readFileSync(paths.trial, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as TrialRecord;
  } catch {
    return { version: '?', startedAt: 0, deadline: 0 };
  }
}

/** Replaces `path` whole, on disk before whatever follows: a power cut leaves the old file or the new one. */
function writeDurably(path: string, text: string): void {
  const temp = `${path}.tmp`;
  const fd = openSync(temp, 'w');
  try {
    writeFileSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
  syncDir(dirname(path));
}

/** Makes the renames and removals in `dir` so far survive a power cut. */
function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The agent the OS or the package ships, by content: it changes with an OS update or an `apt upgrade`. */
function shippedHash(): string {
  return createHash('sha256').update(readFileSync(base!)).digest('hex');
}

/**
 * A self-installed version stands in for the shipped agent it replaced, not for a newer one that
 * an OS update or a package upgrade brought since: then the shipped agent wins and `alts/` is
 * cleared, or a board would run its old self-update for ever (alts/ lives on the data partition
 * both OS slots share).
 */
function dropIfShippedChanged(): void {
  if (!target(paths.current)) return;
  let recorded: string | undefined;
  try {
    recorded = (JSON.parse(readFileSync(paths.shipped, 'utf8')) as { sha256?: string }).sha256;
  } catch {
    return;
  }
  if (recorded === shippedHash()) return;
  log('the shipped agent changed since the installed version replaced it; running the shipped one', { installed: target(paths.current) });
  point(paths.current, undefined);
  point(paths.old, undefined);
  rmSync(paths.shipped, { force: true });
}

/**
 * The trial is recorded, with both sides of the switch, on disk before the first link moves, so a
 * power cut anywhere in the switch leaves it for the next start, which falls back by it. Recorded
 * after the links, a cut between them left the new version as `current` with no trial (run as
 * committed, never taken back), or, with `new` still there, ran the switch again from there, which
 * pointed `old` at the new version too: a crashing new agent then had nothing to fall back to.
 */
function switchToNew(): void {
  const next = target(paths.next)!;
  const previous = target(paths.current);
  if (!previous) writeFileSync(paths.shipped, JSON.stringify({ sha256: shippedHash() }));
  const trial: TrialRecord = {
    version: meta(next)?.version ?? next,
    startedAt: Date.now(),
    deadline: Date.now() + trialMs,
    from: previous ?? null,
    to: next,
  };
  writeDurably(paths.trial, JSON.stringify(trial));
  point(paths.old, previous);
  point(paths.current, next);
  point(paths.next, undefined);
  syncDir(paths.dir);
  log('switched to a new agent version, on trial', { version: trial.version, deadlineMs: trialMs });
}

/** What the agent on trial said of itself before it exited (`verdict.json`), taken away. */
function takeVerdict(): TrialFailure | undefined {
  try {
    return JSON.parse(readFileSync(paths.verdict, 'utf8')) as TrialFailure;
  } catch {
    return undefined;
  } finally {
    rmSync(paths.verdict, { force: true });
  }
}

/** The agent's own verdict, when it gave one, says more than what the launcher saw. */
function fallBack(trial: TrialRecord, seen: TrialFailure): void {
  const failure = takeVerdict() ?? seen;
  // By the record when it names the switch, which a power cut may have left half done; an older
  // launcher's record names neither side, and its links, moved after it was written, do.
  const failed = trial.to ?? target(paths.current);
  const back = trial.to === undefined ? target(paths.old) : (trial.from ?? undefined);
  point(paths.broken, failed);
  point(paths.current, back);
  // A switch cut before it took `new` away would otherwise run again, into the failed version.
  if (failed !== undefined && target(paths.next) === failed) point(paths.next, undefined);
  const reason = describeTrialFailure(failure);
  const record: FailureRecord = { version: trial.version, sha256: meta(failed)?.sha256 ?? null, failure, reason, at: Date.now() };
  writeDurably(paths.failure, JSON.stringify(record));
  rmSync(paths.trial, { force: true });
  syncDir(paths.dir);
  log('the new agent failed its trial; back to the old one', { version: trial.version, reason });
}

/**
 * The launcher runs, as root, the agent under alts/: whoever may write to the state dir or to
 * alts/ could put code of their own there. As the agent does for its files (state-dir.ts), it
 * refuses directories another user owns or that group or others may write.
 */
function refuseUnsafeDirs(): void {
  for (const dir of [dirname(paths.dir), paths.dir]) {
    const reason = unsafeDirReason(statSync(dir));
    if (!reason) continue;
    process.stderr.write(
      `${JSON.stringify({
        at: new Date().toISOString(),
        level: 'fatal',
        msg: `launcher: refusing ${dir} (${reason}): another user could put an agent there to run; chown it to the agent's user and chmod 0700 it, then check alts/`,
      })}\n`,
    );
    process.exit(EXIT_CONFIG);
  }
}

function run(): void {
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  refuseUnsafeDirs();
  if (existsSync(paths.next)) switchToNew();
  else dropIfShippedChanged();
  const installed = target(paths.current);
  const entry = installed ? join(paths.dir, installed, AGENT_FILE) : base;
  const trialPending = existsSync(paths.trial);
  const started = Date.now();
  let expired: TrialFailure | undefined;
  rmSync(paths.verdict, { force: true });
  const proc = spawn(process.execPath, [...process.execArgv, entry, ...args], {
    stdio: 'inherit',
    env: { ...process.env, [ALTS_ENV]: paths.dir },
  });
  child = proc;
  const deadline = trialPending
    ? setTimeout(() => {
        if (!existsSync(paths.trial)) return;
        expired = { kind: 'no-report', withinSeconds: Math.round(trialMs / 1000) };
        proc.kill('SIGTERM');
        setTimeout(() => proc.kill('SIGKILL'), STOP_GRACE_MS).unref();
      }, trialMs)
    : undefined;
  proc.on('exit', (code, signal) => {
    if (deadline) clearTimeout(deadline);
    child = undefined;
    const trial = trialPending ? readTrial() : undefined;
    if (trial) {
      const afterSeconds = (Date.now() - started) / 1000;
      fallBack(trial, expired ?? { kind: 'exited', code, signal, afterSeconds });
      if (!stopping) return run();
    }
    if (!stopping && existsSync(paths.next)) return run();
    process.exit(code ?? 1);
  });
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    stopping = true;
    child?.kill(signal);
  });
}

// A trial a previous launcher left behind (power cut, launcher killed) never reported: fall back before starting.
const leftOver = readTrial();
if (leftOver) fallBack(leftOver, { kind: 'interrupted' });
run();
