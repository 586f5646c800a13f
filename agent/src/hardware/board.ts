import { readBoardModel } from './probes';

/**
 * Device-tree models of each board spec in firmware-specs/ (its `models` list), so the
 * agent knows which board it runs on without a configuration file. `board.int.test.ts`
 * checks this table against the specs.
 */
export const BOARD_MODELS: Record<string, readonly string[]> = {
  'qemu-arm64-virt': ['linux,dummy-virt'],
  'raspberrypi4-64': ['Raspberry Pi 4', 'Raspberry Pi 400', 'Raspberry Pi Compute Module 4'],
  raspberrypi5: ['Raspberry Pi 5', 'Raspberry Pi Compute Module 5'],
};

/** The board spec whose model is the longest prefix of the device-tree model ("Raspberry Pi 4 Model B Rev 1.5" → raspberrypi4-64). */
export function boardForModel(model: string | undefined): string | undefined {
  if (!model) return undefined;
  let best: { board: string; length: number } | undefined;
  for (const [board, models] of Object.entries(BOARD_MODELS)) {
    for (const prefix of models) {
      if (model.startsWith(prefix) && prefix.length > (best?.length ?? 0)) best = { board, length: prefix.length };
    }
  }
  return best?.board;
}

/** `FLOTILLA_BOARD` wins; otherwise the device tree decides; undefined on a machine no spec describes. */
export async function recognizeBoard(configured: string | undefined, root = '/'): Promise<string | undefined> {
  return configured ?? boardForModel(await readBoardModel(root));
}
