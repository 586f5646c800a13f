import { MAX_PAYLOAD_BYTES, TEXT_LIMITS, toStorableText, type CommandResult } from '@flotilla/shared/device';

/** An error in a result is a reason, not a log: cut as the agent's other messages are. */
const MAX_ERROR_LENGTH = 2_000;

/**
 * `result` as `cmd/res` can carry it: text the schema takes (no NUL or lone surrogate, the output
 * within `TEXT_LIMITS.output` code units) and, encoded, within `MAX_PAYLOAD_BYTES`, keeping the end
 * of the output from a line start (the newest log lines matter most).
 *
 * The output of `logs` is a container's, cut by its raw size before it is encoded. JSON escaping
 * (each quote of a JSON log line, each colour escape) took it past the payload limit; the control
 * plane closes the connection of a device that sends a larger packet, and mqtt.js sends an
 * unacknowledged QoS 1 message again first after every reconnect: one `logs` of a chatty component
 * cut the device off until its agent restarted. A NUL in the logs, or more code units than the
 * schema takes, left the result unsendable: the operator only saw the command time out.
 */
export function fitCommandResult(result: CommandResult): CommandResult {
  const { output, ...rest } = result;
  const fitted: CommandResult = { ...rest, ...(rest.error !== undefined ? { error: toStorableText(rest.error, MAX_ERROR_LENGTH) } : {}) };
  if (output === undefined) return fitted;
  // The JSON of the result with an empty output holds the output's quotes: the rest is the room for its text.
  const room = MAX_PAYLOAD_BYTES - Buffer.byteLength(JSON.stringify({ ...fitted, output: '' }));
  return { ...fitted, output: tailWithin(toStorableText(output, output.length), room, TEXT_LIMITS.output) };
}

/**
 * The longest end of `text` whose JSON string encoding (without its quotes) takes at most `bytes`
 * UTF-8 bytes and that has at most `units` code units; when cut, from the start of a line.
 */
function tailWithin(text: string, bytes: number, units: number): string {
  let used = 0;
  let start = text.length;
  while (start > 0) {
    const c = text.charCodeAt(start - 1);
    // Lone surrogates are gone (toStorableText): a low one is the second half of a pair, 4 bytes in UTF-8.
    const width = c >= 0xdc00 && c <= 0xdfff ? 2 : 1;
    const cost = width === 2 ? 4 : escapedBytes(c);
    if (used + cost > bytes || text.length - start + width > units) break;
    used += cost;
    start -= width;
  }
  if (start === 0) return text;
  const cut = text.slice(start);
  const line = cut.indexOf('\n');
  return line === -1 ? cut : cut.slice(line + 1);
}

/** UTF-8 bytes of one BMP code unit inside a JSON string, as JSON.stringify writes it. */
function escapedBytes(c: number): number {
  if (c === 0x22 || c === 0x5c) return 2; // \" \\
  if (c < 0x20) return c === 0x08 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d ? 2 : 6; // \n … or \u001b
  if (c < 0x80) return 1;
  return c < 0x800 ? 2 : 3;
}
