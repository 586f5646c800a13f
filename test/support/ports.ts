import { createServer } from 'node:net';

/**
 * Below Linux's ephemeral range (32768-60999 by default): a port found free there can be taken
 * by any outgoing connection's local end before the server a test starts next binds it (a busy
 * machine churns through thousands), while this range is only ever bound on purpose.
 */
const FIRST = 10_000;
const LAST = 32_767;
const ATTEMPTS = 50;

/** A TCP port free on 127.0.0.1 right now, outside the ephemeral range, for a server a test starts next. */
export async function freePort(): Promise<number> {
  for (let i = 0; i < ATTEMPTS; i++) {
    const port = FIRST + Math.floor(Math.random() * (LAST - FIRST + 1));
    if (await bindable(port)) return port;
  }
  throw new Error(`no free TCP port on 127.0.0.1 in ${FIRST}-${LAST} after ${ATTEMPTS} tries: is something binding them all?`);
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}
