import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { OutageLog, type OutageLine } from './outage-log';
import { REPLICA_ID } from './replica-id';

/** How often a replica says it is alive. */
export const HEARTBEAT_EVERY_MS = 5_000;
/** A replica silent this long is dead: what it held (device presence) is released by the others. */
export const REPLICA_ALIVE_S = 20;

/**
 * Which replicas are alive (`replica_heartbeats`): each writes its row at start and every few
 * seconds, and removes it when it stops, so that what it held is released at once rather than
 * after REPLICA_ALIVE_S. A SIGKILLed replica's row simply goes stale.
 */
@Injectable()
export class ReplicaHeartbeats implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Replicas');
  private timer: NodeJS.Timeout | undefined;
  /** A heartbeat every 5 s: a database outage is told once a minute, not at every beat. */
  private readonly outage = new OutageLog('replica heartbeat');

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(REPLICA_ID) private readonly replica: string,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.beat();
    this.timer = setInterval(
      () =>
        void this.beat().then(
          () => this.log(this.outage.succeeded()),
          (e: unknown) => this.log(this.outage.failed(e)),
        ),
      HEARTBEAT_EVERY_MS,
    );
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.db.query('DELETE FROM replica_heartbeats WHERE replica = $1', [this.replica]).catch(() => undefined);
  }

  private log(line: OutageLine): void {
    if (line) this.logger[line.level](line.text);
  }

  private async beat(): Promise<void> {
    await this.db.query(
      'INSERT INTO replica_heartbeats (replica, seen_at) VALUES ($1, now()) ON CONFLICT (replica) DO UPDATE SET seen_at = now()',
      [this.replica],
    );
  }
}
