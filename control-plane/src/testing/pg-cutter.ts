import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * Where a `PgCutter` cuts a connection, once armed, at the next COPY it sees:
 *   'copy-data'  — as the first CopyData message reaches the server: the COPY is aborted, nothing committed;
 *   'copy-reply' — as the server's CommandComplete for the COPY (sent after the commit) would reach the
 *                  client: the rows are committed and the client only sees a lost connection;
 * or at the next statement whose text holds the string given to `arm` (any other statement, as an INSERT):
 *   'statement'       — as the statement (Parse or simple Query) would reach the server: nothing runs;
 *   'statement-reply' — as the server's ReadyForQuery after it would reach the client: outside a
 *                       transaction block the statement is committed by then (an implicit transaction
 *                       ends at Sync, before ReadyForQuery), and the client only sees a lost connection.
 */
export type CutPoint = 'copy-data' | 'copy-reply' | 'statement' | 'statement-reply';

/**
 * A TCP proxy in front of PostgreSQL for tests that reads the wire protocol's message frames
 * (type byte, int32 length) so that it can cut a connection at an exact point of a COPY, which
 * a timed cut (`tcp-switch.ts`) only hits by chance. Everything else passes through unchanged.
 */
export interface PgCutter {
  port: number;
  /** The database's URL through the cutter. */
  url: string;
  /** Cuts the connection at the next `point` seen (of a statement holding `statement`, for the statement points); resolves once it has. */
  arm(point: CutPoint, statement?: string): Promise<void>;
  close(): Promise<void>;
}

/** A cutter in front of the PostgreSQL that `databaseUrl` names (on 127.0.0.1). */
export async function startPgCutter(databaseUrl: string): Promise<PgCutter> {
  const targetPort = Number(new URL(databaseUrl).port);
  const open = new Set<Socket>();
  let armed: { point: CutPoint; statement: string; done: () => void } | undefined;
  const fire = (point: CutPoint, client: Socket, upstream: Socket): boolean => {
    if (armed?.point !== point) return false;
    const { done } = armed;
    armed = undefined;
    client.destroy();
    upstream.destroy();
    done();
    return true;
  };
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      // Frames go on one write each: with Nagle's algorithm, the second of a chunk's frames waited
      // for the ACK of the first, which the peer delays (40 ms), on every statement.
      s.setNoDelay(true);
      open.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        open.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    /** This connection sent the statement 'statement-reply' waits for: its next ReadyForQuery is cut. */
    let awaitingReply = false;
    const isArmedStatement = (type: string, frame: Buffer) =>
      (type === 'P' || type === 'Q') && armed !== undefined && armed.statement !== '' && frame.includes(armed.statement);
    // The client's first message (startup) has no type byte.
    frames(client, true, (type, frame) => {
      if (type === 'd' && fire('copy-data', client, upstream)) return;
      if (isArmedStatement(type, frame)) {
        if (fire('statement', client, upstream)) return;
        if (armed?.point === 'statement-reply') awaitingReply = true;
      }
      upstream.write(frame);
    });
    frames(upstream, false, (type, frame) => {
      if (type === 'C' && frame.subarray(5, 9).toString() === 'COPY' && fire('copy-reply', client, upstream)) return;
      if (type === 'Z' && awaitingReply && fire('statement-reply', client, upstream)) return;
      client.write(frame);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const url = new URL(databaseUrl);
  url.port = String(port);
  return {
    port,
    url: url.toString(),
    arm: (point, statement = '') => new Promise<void>((resolve) => (armed = { point, statement, done: resolve })),
    close: () => {
      for (const s of open) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Calls `each` with every whole protocol message read from `socket` (type, and the frame as sent). */
function frames(socket: Socket, untypedFirst: boolean, each: (type: string, frame: Buffer) => void): void {
  let pending = Buffer.alloc(0);
  let untyped = untypedFirst;
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    for (;;) {
      const head = untyped ? 0 : 1;
      if (pending.length < head + 4) return;
      const size = head + pending.readInt32BE(head);
      if (pending.length < size) return;
      const frame = pending.subarray(0, size);
      pending = pending.subarray(size);
      // An SSL or GSS request is answered by one untyped byte; node-postgres here sends neither, so the next message is typed.
      each(untyped ? '' : String.fromCharCode(frame[0]!), frame);
      untyped = false;
      if (socket.destroyed) return;
    }
  });
}
