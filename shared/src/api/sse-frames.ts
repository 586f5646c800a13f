/**
 * Server-sent events as they arrive in chunks (`/api/v1/events/stream`): `push` takes the next
 * chunk of text and returns the data of every event it completed (the `data:` lines of one event
 * joined by newlines); a partial event waits for the next chunk. Comments and events without data
 * (the stream's keep-alives) give nothing. One parser for the dashboard and the tests.
 */
export class SseFrames {
  private buffer = '';

  push(chunk: string): string[] {
    this.buffer += chunk;
    const data: string[] = [];
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const lines = this.buffer
        .slice(0, end)
        .split('\n')
        .filter((l) => l.startsWith('data: '));
      this.buffer = this.buffer.slice(end + 2);
      if (lines.length > 0) data.push(lines.map((l) => l.slice(6)).join('\n'));
    }
    return data;
  }
}
