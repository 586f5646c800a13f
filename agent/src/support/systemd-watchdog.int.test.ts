import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonLogger } from './logger';
import { SystemdWatchdog, watchdogPingInterval } from './systemd-watchdog';

// What systemd's notify socket receives from the agent: a unix datagram socket that plays
// the manager (python3: Node has no unix datagram sockets), with the real systemd-notify.
// The receiver closes the barrier fd systemd-notify sends after its message, as systemd does.
const RECEIVER = `
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("ready", flush=True)
while True:
    data, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(64))
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            for i in range(0, len(payload) - len(payload) % 4, 4):
                os.close(int.from_bytes(payload[i:i + 4], sys.byteorder))
    print(data.decode().replace("\\n", " ").strip(), flush=True)
`;

describe('systemd watchdog pings', () => {
  it('pings only when systemd asked for a watchdog for this process, at half its period', () => {
    expect(watchdogPingInterval({ NOTIFY_SOCKET: '/run/n', WATCHDOG_USEC: '60000000' }, 7)).toBe(30_000);
    expect(watchdogPingInterval({ NOTIFY_SOCKET: '/run/n', WATCHDOG_USEC: '60000000', WATCHDOG_PID: '7' }, 7)).toBe(30_000);
    expect(watchdogPingInterval({ NOTIFY_SOCKET: '/run/n', WATCHDOG_USEC: '60000000', WATCHDOG_PID: '8' }, 7)).toBeUndefined();
    expect(watchdogPingInterval({ WATCHDOG_USEC: '60000000' }, 7)).toBeUndefined();
    expect(watchdogPingInterval({ NOTIFY_SOCKET: '/run/n' }, 7)).toBeUndefined();
  });

  describe('through systemd-notify to a notify socket', () => {
    let dir: string;
    let receiver: ChildProcess;
    let lines: string[];
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'flotilla-notify-'));
      lines = [];
      receiver = spawn('python3', ['-c', RECEIVER, join(dir, 'notify.sock')], { stdio: ['ignore', 'pipe', 'inherit'] });
      receiver.stdout!.on('data', (chunk: Buffer) => lines.push(...chunk.toString().trim().split('\n')));
      await new Promise<void>((resolve, reject) => {
        receiver.once('error', reject);
        receiver.stdout!.once('data', () => resolve());
      });
    });
    afterAll(() => {
      receiver.kill();
      rmSync(dir, { recursive: true, force: true });
    });

    it('sends WATCHDOG=1 again and again', async () => {
      const env = { ...process.env, NOTIFY_SOCKET: join(dir, 'notify.sock'), WATCHDOG_USEC: '400000', WATCHDOG_PID: String(process.pid) };
      const watchdog = SystemdWatchdog.fromEnv(jsonLogger({ level: 'error' }), env);
      expect(watchdog).toBeDefined();
      const deadline = Date.now() + 15_000;
      while (lines.filter((l) => l === 'WATCHDOG=1').length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      watchdog!.stop();
      expect(lines.filter((l) => l === 'WATCHDOG=1').length).toBeGreaterThanOrEqual(3);
    });

    it("stops pinging when the agent's event loop is wedged, which is what makes systemd restart it", async () => {
      const compiled = join(__dirname, '..', '..', 'dist', 'support', 'systemd-watchdog.js');
      if (!existsSync(compiled)) throw new Error(`${compiled} is missing: run npm run build first`);
      const intervalMs = 100;
      // A process that pings like the agent, then blocks its event loop for good.
      const script = `
        const { SystemdWatchdog } = require(${JSON.stringify(compiled)});
        SystemdWatchdog.fromEnv({ info() {}, warn() {}, error() {}, debug() {} });
        setTimeout(() => { process.stdout.write('WEDGED\\n'); for (;;) {} }, 1000);`;
      lines.length = 0;
      const child = spawn(process.execPath, ['-e', script], {
        env: { ...process.env, NOTIFY_SOCKET: join(dir, 'notify.sock'), WATCHDOG_USEC: String(intervalMs * 2000) },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      try {
        await new Promise<void>((resolve) => child.stdout!.on('data', (c: Buffer) => c.toString().includes('WEDGED') && resolve()));
        const pingsWhenWedged = lines.filter((l) => l === 'WATCHDOG=1').length;
        expect(pingsWhenWedged).toBeGreaterThanOrEqual(3);
        // systemd's watchdog is a deadline: watch ten ping periods pass with the process alive and silent.
        await new Promise((r) => setTimeout(r, intervalMs * 10));
        expect(child.exitCode).toBeNull();
        expect(lines.filter((l) => l === 'WATCHDOG=1').length).toBeLessThanOrEqual(pingsWhenWedged + 1); // one may have been in flight
      } finally {
        child.kill('SIGKILL');
      }
    });
  });
});
