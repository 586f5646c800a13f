import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { BoardSpec } from '@flotilla/shared';
import { ImageToolError } from './errors';

/** `firmware-specs/` of the repository, from both src/images and dist/images. */
export const DEFAULT_SPECS_DIR = join(__dirname, '..', '..', '..', 'firmware-specs');

export async function loadBoardSpec(board: string, dir = DEFAULT_SPECS_DIR): Promise<BoardSpec> {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(board))
    throw new ImageToolError('board-invalid', `"${board}" is not a board name such as raspberrypi4-64`);
  const file = join(dir, `${board}.yaml`);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new ImageToolError('board-unknown', `no board spec ${file}; pass one of the names in ${dir}`);
  }
  const result = BoardSpec.safeParse(parse(text));
  if (!result.success)
    throw new ImageToolError(
      'board-spec-invalid',
      `${file}: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return result.data;
}
