import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

/** Names this process among the replicas sharing the database: who holds a lease or ran a job. */
export const REPLICA_ID = Symbol('ReplicaId');

/** Host and pid for people reading the tables; the random part keeps a restarted pid distinct. */
export function replicaId(): string {
  return `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
}
