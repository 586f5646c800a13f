import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { DeviceCertificateRepository } from './device-certificate.repository';

/** How often revocations made elsewhere (another replica) are picked up. */
const REFRESH_MS = 10_000;

/**
 * The serials of revoked, unexpired device certificates, in memory: the broker checks a
 * certificate connect against it with no database round trip. Loaded before the broker
 * listens, updated at once by revocations made here, and re-read every few seconds so that
 * revocations made by another replica arrive too.
 */
@Injectable()
export class RevocationList implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Certificates');
  private readonly revoked = new Set<string>();
  private checkedUpTo: Date | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly certificates: DeviceCertificateRepository) {}

  async onModuleInit(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => {
      this.refresh().catch((e: Error) => this.logger.warn(`cannot refresh the revoked certificates: ${e.message}`));
    }, REFRESH_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  has(serial: string): boolean {
    return this.revoked.has(serial);
  }

  add(serials: readonly string[]): void {
    for (const serial of serials) this.revoked.add(serial);
  }

  get size(): number {
    return this.revoked.size;
  }

  private async refresh(): Promise<void> {
    // Overlap by a minute (database and process clocks may differ a little): a revocation committed while the previous read ran is read again, never missed.
    const since = this.checkedUpTo && new Date(this.checkedUpTo.getTime() - 60_000);
    const startedAt = new Date();
    for (const { serial } of await this.certificates.findRevokedUnexpired(since)) this.revoked.add(serial);
    this.checkedUpTo = startedAt;
  }
}
