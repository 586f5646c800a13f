/**
 * Combining marks kept in a row: enough for any script's stacked accents (Vietnamese, Hebrew
 * points and cantillation), far below the hundreds of a "Zalgo" string, whose marks are drawn
 * above and below their line, over the rows next to it.
 */
const MAX_MARKS_IN_A_ROW = 4;
const MARK_RUN = new RegExp(`(\\p{M}{${MAX_MARKS_IN_A_ROW}})\\p{M}+`, 'gu');

/** `text` with every run of combining marks cut to MAX_MARKS_IN_A_ROW. */
export function tameMarks(text: string): string {
  return text.replace(MARK_RUN, '$1');
}

/**
 * A string a device chose (its name, board, versions, failures, event messages, inventory,
 * command output), shown as text. React escapes it; `bdi` keeps its direction to itself, so that
 * bidirectional controls in it (U+202E) cannot reverse the dashboard's own words after it, and
 * runs of combining marks are cut so that it stays on its line.
 */
export function DeviceText({ children }: { children: string | null | undefined }) {
  return <bdi>{tameMarks(children ?? '')}</bdi>;
}

/**
 * A React key for row `index` of a list a device wrote: its strings repeat (two components or
 * disks of one name), and React, given the same key twice, keeps rows the device no longer
 * reports. Position makes the key unique; the text makes a changed row a new one.
 */
export function deviceKey(index: number, text: string): string {
  return `${index}:${text}`;
}
