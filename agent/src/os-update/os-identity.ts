import { readFile, readlink, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { BoardSpec } from '@flotilla/shared/device';
import { splitDevT } from './os-target';

/**
 * What the running OS says about itself, as `flotilla image build` / `image os` wrote it:
 * /etc/flotilla/os-release (its version) and /etc/flotilla/board.json (the board spec:
 * slot layout and boot backend). Both absent on an OS Flotilla did not build.
 */
export async function readOsVersion(root = '/'): Promise<string | null> {
  const text = await readFile(join(root, 'etc/flotilla/os-release'), 'utf8').catch(() => '');
  const raw = /^FLOTILLA_OS_VERSION=(.+)$/m.exec(text)?.[1];
  return raw === undefined ? null : osReleaseValue(raw) || null;
}

/**
 * A value as os-release(5) and the shells that source it read it: in double quotes a backslash
 * escapes `"`, `\`, `$` and `` ` `` (how `flotilla image build` writes every value), single quotes
 * take the text as it is, and a bare value is the text up to the line's end.
 */
export function osReleaseValue(raw: string): string {
  const value = raw.trim();
  const double = /^"((?:[^"\\]|\\.)*)"$/.exec(value);
  if (double) return double[1]!.replace(/\\([$`"\\])/g, '$1');
  const single = /^'([^']*)'$/.exec(value);
  return single ? single[1]! : value;
}

export class BoardSpecFileError extends Error {
  readonly code = 'board-spec-file-invalid';
}

export async function readBoardSpecFile(root = '/'): Promise<BoardSpec | undefined> {
  const path = join(root, 'etc/flotilla/board.json');
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const parsed = BoardSpec.safeParse(JSON.parse(text));
  if (!parsed.success)
    throw new BoardSpecFileError(`${path} is not a board spec (${parsed.error.issues[0]?.message}); rebuild the OS with flotilla image os`);
  return parsed.data;
}

/**
 * The disk holding the running root file system and the root's partition number, from
 * sysfs (`/sys/dev/block/MAJ:MIN` links to …/block/<disk>/<partition>). Needs /sys.
 */
export async function runningRootPartition(root = '/'): Promise<{ disk: string; partition: number }> {
  const { major, minor } = splitDevT((await stat(root)).dev);
  const sys = join(root, 'sys/dev/block', `${major}:${minor}`);
  const partition = Number((await readFile(join(sys, 'partition'), 'utf8').catch(() => '')).trim());
  if (!partition) throw new Error(`the root file system (${major}:${minor}) is not on a disk partition; OS A/B updates need root slots`);
  const link = await readlink(sys);
  return { disk: basename(dirname(link)), partition };
}
