import { MAX_PAYLOAD_BYTES, PROTOCOL_SCHEMA, TEXT_LIMITS, encodePayload, type CommandResult } from '@flotilla/shared/device';
import { fitCommandResult } from './command-result';

const result = (output: string, error?: string): CommandResult => ({
  schema: PROTOCOL_SCHEMA,
  id: 'cmd_1',
  ok: error === undefined,
  output,
  ...(error !== undefined ? { error } : {}),
});

/** The encoded `cmd/res` payload: encodePayload throws where the schema refuses. */
const payloadBytes = (r: CommandResult) => Buffer.byteLength(encodePayload('cmd/res', r));

/** Lines of `unit` repeated until the text reaches `chars` code units. */
function logText(unit: string, chars: number): string {
  const lines: string[] = [];
  for (let i = 0, size = 0; size < chars; i++) {
    const line = `${i} ${unit.repeat(20)}`;
    lines.push(line);
    size += line.length + 1;
  }
  return `${lines.join('\n')}\n`;
}

describe('fitCommandResult', () => {
  it('leaves a result that fits as it is', () => {
    expect(fitCommandResult(result('a "quoted" line\n'))).toEqual(result('a "quoted" line\n'));
  });

  it.each([
    ['quotes and backslashes', '"\\"'],
    ['colour escapes', '\u001b[31mred\u001b[0m'],
    ['tabs and carriage returns', '\t\r'],
    ['text outside ASCII', 'é€'],
    ['pairs of surrogates', '😀'],
    ['plain ASCII past the code units the schema takes', 'abcd'],
  ])('keeps the newest whole lines that fit the payload with %s', (_, unit) => {
    const output = logText(unit, 250_000);
    const fitted = fitCommandResult(result(output));
    expect(payloadBytes(fitted)).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
    expect(fitted.output!.length).toBeLessThanOrEqual(TEXT_LIMITS.output);
    expect(output.endsWith(fitted.output!)).toBe(true);
    expect(output[output.length - fitted.output!.length - 1]).toBe('\n');
    // The line before the kept ones would not have fitted: nothing more was cut than needed.
    const before = output.slice(0, output.length - fitted.output!.length - 1);
    const widened = `${before.slice(before.lastIndexOf('\n') + 1)}\n${fitted.output!}`;
    const bigger = { ...fitted, output: widened };
    expect(widened.length > TEXT_LIMITS.output || Buffer.byteLength(JSON.stringify(bigger)) > MAX_PAYLOAD_BYTES).toBe(true);
  });

  it('writes NUL and lone surrogates as U+FFFD and cuts a long error to 2,000 code units', () => {
    const fitted = fitCommandResult(result('a\u0000b\ud800c\n', `x\u0000${'y'.repeat(5_000)}`));
    expect(fitted.output).toBe('a\ufffdb\ufffdc\n');
    expect(fitted.error).toBe(`x\ufffd${'y'.repeat(1_998)}`);
    expect(() => encodePayload('cmd/res', fitted)).not.toThrow();
  });
});
