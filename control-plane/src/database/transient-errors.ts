/**
 * Whether a database error is worth retrying as it is: the same statement can succeed a moment
 * later because nothing was wrong with it (a deadlock victim, a serialization failure, a server
 * restarting, a connection lost or not had in time). Anything else is an error of the statement
 * or its data, which a retry would only repeat.
 */
const TRANSIENT_SQLSTATES = new Set([
  '40P01', // deadlock_detected
  '40001', // serialization_failure
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, or in recovery)
  '53300', // too_many_connections
]);
const TRANSIENT_NODE_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTCONN']);
/** What node-postgres and its pool say when a connection ends, or cannot be had, in time. */
const TRANSIENT_MESSAGES = [
  /timeout exceeded when trying to connect/i,
  /connection terminated/i,
  /not queryable/i,
  /connection timeout/i,
  /server closed the connection unexpectedly/i,
];

export function isTransientDbError(error: unknown): boolean {
  // Not `instanceof Error`: a socket error is made by Node's own realm, which is not the caller's under a VM (Jest).
  if (typeof error !== 'object' || error === null) return false;
  // TypeORM's QueryFailedError copies the driver's fields; `driverError` is the original.
  const withCode = error as { message?: unknown; code?: unknown; driverError?: { code?: unknown } };
  const code = String(withCode.code ?? withCode.driverError?.code ?? '');
  if (TRANSIENT_SQLSTATES.has(code) || code.startsWith('08') || TRANSIENT_NODE_CODES.has(code)) return true;
  return TRANSIENT_MESSAGES.some((m) => m.test(String(withCode.message ?? '')));
}

/** Exponential backoff with jitter (half to full of the step), so that deadlock victims do not meet again in step. */
export function backoffMs(attempt: number, random: () => number = Math.random, firstMs = 50, maxMs = 5_000): number {
  const step = Math.min(maxMs, firstMs * 2 ** attempt);
  return Math.round(step * (0.5 + random() / 2));
}

/** Why the database refuses every write for now, whatever its data: not a row's fault, and no retry in a moment would pass. */
export type WritesRefusedReason = 'disk_full' | 'read_only';

const WRITES_REFUSED: Record<string, WritesRefusedReason> = {
  '53100': 'disk_full', // disk_full: PostgreSQL could not extend a file or write WAL
  '25006': 'read_only', // read_only_sql_transaction: a standby, or default_transaction_read_only set by the operator
};

/** The reason when `error` is the database refusing all writes (`WRITES_REFUSED`), else undefined. */
export function writesRefusedReason(error: unknown): WritesRefusedReason | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const withCode = error as { code?: unknown; driverError?: { code?: unknown } };
  return WRITES_REFUSED[String(withCode.code ?? withCode.driverError?.code ?? '')];
}
