/**
 * The engine's two streamed formats the agent reads: newline-delimited JSON (pull progress)
 * and multiplexed logs (a container without a TTY).
 */

/** Calls `onEvent` for each JSON line of `stream`; resolves at its end, rejects when it breaks or a line is not JSON. */
export function readJsonLines(stream: NodeJS.ReadableStream, onEvent: (event: Record<string, unknown>) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let rest = '';
    const emit = (line: string): boolean => {
      if (!line.trim()) return true;
      try {
        onEvent(JSON.parse(line) as Record<string, unknown>);
        return true;
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
        return false;
      }
    };
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) if (!emit(line)) return;
    });
    stream.on('end', () => {
      if (emit(rest)) resolve();
    });
    stream.on('error', reject);
  });
}

/**
 * Strips the 8-byte frame headers of multiplexed logs (byte 0: stream, bytes 4–7: payload
 * length, big-endian) and keeps stdout and stderr interleaved as they came. Fed in chunks,
 * since a frame may span several reads.
 */
export class LogDemuxer {
  private pending = Buffer.alloc(0);
  private readonly out: Buffer[] = [];

  push(chunk: Buffer): void {
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (buf.length >= 8) {
      const size = buf.readUInt32BE(4);
      if (buf.length < 8 + size) break;
      this.out.push(buf.subarray(8, 8 + size));
      buf = buf.subarray(8 + size);
    }
    this.pending = Buffer.from(buf);
  }

  text(): string {
    return Buffer.concat(this.out).toString('utf8');
  }
}
