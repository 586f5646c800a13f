import { ImageToolError } from './errors';

/**
 * Operator input (`--fleet`, `--os-version`, `--deb`) and board-spec text as the files the image
 * tools write take them, each by its own rules. Written as given, `--os-version '1; reboot'`
 * ran `reboot` in every shell that sources /etc/flotilla/os-release (the QEMU test init does), a
 * newline added keys, and a `--deb` path with a newline added commands to the debugfs script that
 * edits the image. A value a file cannot hold is refused, naming where it came from. (A board's
 * kernel command line is one line by its schema, `shared/src/boards/board-spec.ts`.)
 */

/** C0 controls and DEL: no line-based file holds them as data, and a newline starts another entry. */
const isControl = (c: string): boolean => c < ' ' || c === '\u007f';

function refuseControl(value: string, source: string, file: string): void {
  if ([...value].some(isControl))
    throw new ImageToolError(
      'value-not-representable',
      `${source} holds a control character (a newline, a tab, …), which ${file} cannot hold; give it without one`,
    );
}

/**
 * `NAME="value"` as os-release(5) has it: a value with anything but A–Z, a–z, 0–9 must be quoted,
 * and in double quotes `"`, `\`, `$` and `` ` `` are escaped with a backslash, as in the shell
 * that sources the file. (Always quoted: one rule for every value.)
 */
export function osReleaseAssignment(name: string, value: string, source: string): string {
  refuseControl(value, source, 'an os-release file');
  return `${name}="${value.replace(/["\\$`]/g, '\\$&')}"\n`;
}

/**
 * A path as one argument of a debugfs command file: debugfs splits on blanks outside double
 * quotes and has no escape for a quote inside them.
 */
export function debugfsPath(path: string, source: string): string {
  refuseControl(path, source, 'a debugfs command file');
  if (path.includes('"'))
    throw new ImageToolError(
      'value-not-representable',
      `${source} (${path}) holds a '"', which a debugfs command file cannot quote; rename it`,
    );
  return `"${path}"`;
}

/**
 * Text inside a double-quoted string of a U-Boot hush script: `\`, `"` and `$` are escaped, so that
 * the board's command line reaches `bootargs` as written and runs nothing.
 */
export function ubootQuoted(text: string, source: string): string {
  refuseControl(text, source, 'a U-Boot script');
  return text.replace(/["\\$]/g, '\\$&');
}
