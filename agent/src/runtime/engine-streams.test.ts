import { PassThrough } from 'node:stream';
import { LogDemuxer, readJsonLines } from './engine-streams';

function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

describe('LogDemuxer', () => {
  it('strips the frame headers and keeps stdout and stderr in order', () => {
    const demuxer = new LogDemuxer();
    demuxer.push(Buffer.concat([frame(1, 'out 1\n'), frame(2, 'err 1\n'), frame(1, 'out 2\n')]));
    expect(demuxer.text()).toBe('out 1\nerr 1\nout 2\n');
  });

  it('joins frames that arrive a byte at a time, headers included', () => {
    const all = Buffer.concat([frame(1, 'first line\n'), frame(2, 'second\n')]);
    const demuxer = new LogDemuxer();
    for (let i = 0; i < all.length; i++) demuxer.push(all.subarray(i, i + 1));
    expect(demuxer.text()).toBe('first line\nsecond\n');
  });
});

describe('readJsonLines', () => {
  it('emits each JSON line, also when a line spans chunks', async () => {
    const stream = new PassThrough();
    const events: unknown[] = [];
    const done = readJsonLines(stream, (e) => events.push(e));
    stream.write('{"status":"Pulling"}\n{"status":"Down');
    stream.end('loading","id":"a"}\r\n\n{"status":"Done"}');
    await done;
    expect(events).toEqual([{ status: 'Pulling' }, { status: 'Downloading', id: 'a' }, { status: 'Done' }]);
  });

  it('rejects a line that is not JSON', async () => {
    const stream = new PassThrough();
    const done = readJsonLines(stream, () => undefined);
    stream.end('<html>proxy error</html>\n');
    await expect(done).rejects.toThrow(SyntaxError);
  });
});
