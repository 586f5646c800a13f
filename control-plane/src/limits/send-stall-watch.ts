import type { Server, Socket } from 'node:net';

/**
 * Closes the connections that stopped taking what is sent to them, on every listener: an HTTP
 * client that asks for an answer and never reads it would otherwise hold the socket, and the part
 * of the answer the kernel could not take, for as long as it keeps acknowledging TCP's window
 * probes, that is for ever (Node's HTTP server has no bound on writing); a device that stops
 * reading holds its messages and the fan-out's places waiting for them. A connection is stalled
 * while bytes wait in the process and the kernel took none since the last check; one stalled for
 * `sendStallMs` is destroyed. Waiting with nothing to send (a delta being computed, an event
 * stream between events) is not a stall, and neither is a slow link: bytes keep leaving.
 */
export class SendStallWatch {
  private readonly watched = new Map<Socket, { taken: number; since: number }>();
  private timer: NodeJS.Timeout | undefined;
  /** Told of each connection closed for a stall (the limits' counters, once the application exists). */
  onCut: (socket: Socket) => void = () => undefined;

  constructor(private readonly bounds: { sendStallMs: number; sendCheckMs: number }) {}

  /**
   * Watches every TCP connection `server` accepts. For HTTPS that is the socket below TLS, which
   * the ciphertext goes through: the TLS socket counts a large answer as one write until all of
   * it has left.
   */
  watchServer(server: Server): void {
    server.on('connection', (socket: Socket) => this.watch(socket));
  }

  watch(socket: Socket): void {
    this.watched.set(socket, { taken: sendProgress(socket).taken, since: performance.now() });
    socket.once('close', () => this.watched.delete(socket));
    if (!this.timer) {
      this.timer = setInterval(() => this.check(performance.now()), this.bounds.sendCheckMs);
      this.timer.unref();
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private check(now: number): void {
    for (const [socket, seen] of this.watched) {
      const { taken, waiting } = sendProgress(socket);
      if (waiting === 0 || taken !== seen.taken) {
        seen.taken = taken;
        seen.since = now;
      } else if (now - seen.since >= this.bounds.sendStallMs) {
        this.watched.delete(socket);
        socket.destroy();
        this.onCut(socket);
      }
    }
  }
}

/** Node's socket internals read here; the watch's tests run on the Node it ships with. */
interface SocketInternals {
  /** Bytes handed to the socket's handle, whether or not the kernel has taken them yet. */
  _bytesDispatched?: number;
  /** Of those, the bytes the kernel has not taken yet (libuv's write queue, kept current as it drains). */
  _handle?: { writeQueueSize?: number } | null;
}

/**
 * Bytes the kernel has taken from `socket` so far, and bytes still waiting in the process. Public
 * counters alone cannot tell: `bytesWritten` and `writableLength` count a write as a whole until
 * all of it has left, and one answer is often one write.
 */
function sendProgress(socket: Socket): { taken: number; waiting: number } {
  const internals = socket as unknown as SocketInternals;
  const queued = internals._handle?.writeQueueSize ?? 0;
  const dispatched = internals._bytesDispatched ?? socket.bytesWritten - socket.writableLength;
  const buffered = socket.bytesWritten - dispatched;
  return { taken: dispatched - queued, waiting: buffered + queued };
}
