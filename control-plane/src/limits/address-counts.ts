/**
 * Open connections per source address, under a cap: what the MQTT broker (ConnectGuard), the
 * HTTP(S) listeners (AddressConnections) and the connections held at start (WaitingListener)
 * each count, every one against `maxConnectionsPerAddress`. Pure.
 */
export class AddressCounts {
  private readonly open = new Map<string, number>();

  /** `max`: 0 for no cap. */
  constructor(private readonly max: number) {}

  /** One more from `address`; false (and not counted) when it already holds the maximum. */
  take(address: string): boolean {
    const n = this.open.get(address) ?? 0;
    if (this.max > 0 && n >= this.max) return false;
    this.open.set(address, n + 1);
    return true;
  }

  /** Pairs with a `take` that returned true. */
  give(address: string): void {
    const n = (this.open.get(address) ?? 1) - 1;
    if (n > 0) this.open.set(address, n);
    else this.open.delete(address);
  }

  /** Addresses with a connection open. */
  get size(): number {
    return this.open.size;
  }

  clear(): void {
    this.open.clear();
  }
}
