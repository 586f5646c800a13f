import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { CreatedOperatorKey, CreateOperatorKeyRequest, OperatorKeyView } from '@flotilla/shared';
import { NotFoundError } from '../domain-error';
import { isUuid } from '../ids';
import { OperatorKeyRepository, type OperatorKeyRow } from './operator-key.repository';
import { BOOTSTRAP_PRINCIPAL, type OperatorPrincipal } from './operator-principal';
import { randomSecret, secretsEqual, sha256Hex } from './secrets';

export const OPERATOR_API_KEY = Symbol('OperatorApiKey');

/** How often a long-lived answer re-reads whether its key is still valid (revoked elsewhere: another replica, SQL). */
export const KEY_RECHECK_MS = 10_000;
/** Injection token of the re-check interval (`KEY_RECHECK_MS` unless the start options say otherwise). */
export const KEY_RECHECK = Symbol('KeyRecheckMs');

export class OperatorKeyNotFoundError extends NotFoundError {
  constructor(id: string) {
    super('operator_key_not_found', `no active operator key "${id}"; GET /api/v1/operators/keys lists them`);
  }
}

/**
 * Operator API keys. Keys are 256-bit random secrets, so a plain SHA-256 is a sufficient hash
 * (no password stretching needed) and lets a request be authenticated by one indexed lookup.
 */
@Injectable()
export class OperatorKeysService {
  private readonly logger = new Logger('OperatorKeys');
  private readonly revokedHere = new Set<(id: string) => void>();

  constructor(
    private readonly keys: OperatorKeyRepository,
    @Inject(OPERATOR_API_KEY) private readonly bootstrapKey: string,
    @Inject(KEY_RECHECK) private readonly recheckMs: number,
  ) {}

  async authenticate(token: string): Promise<OperatorPrincipal | undefined> {
    if (secretsEqual(token, this.bootstrapKey)) return BOOTSTRAP_PRINCIPAL;
    const row = await this.keys.findActiveByHash(sha256Hex(token));
    if (!row) return undefined;
    this.keys.touch(row.id).catch((e: Error) => this.logger.warn(`cannot record use of key ${row.id}: ${e.message}`));
    return { id: row.id, name: row.name, role: row.role };
  }

  async create(request: CreateOperatorKeyRequest, createdBy: OperatorPrincipal): Promise<CreatedOperatorKey> {
    const key = randomSecret('fok_');
    const row = await this.keys.insert({
      id: randomUUID(),
      name: request.name,
      role: request.role,
      keyHash: sha256Hex(key),
      createdBy: createdBy.id,
    });
    return { ...toView(row), key };
  }

  async list(): Promise<OperatorKeyView[]> {
    return (await this.keys.listActive()).map(toView);
  }

  async revoke(id: string): Promise<OperatorKeyView> {
    const row = isUuid(id) ? await this.keys.revoke(id) : undefined;
    if (!row) throw new OperatorKeyNotFoundError(id);
    // The id as stored (lower case), which is what watchers compare with, not as the caller typed it.
    for (const listener of this.revokedHere) listener(row.id);
    return toView(row);
  }

  /**
   * Calls `gone` once when the key of `principal` stops being valid: at once when it is revoked
   * through this process, within `recheckMs` otherwise. A request is authenticated once, so an
   * answer that stays open (server-sent events) must watch its key or outlive a revocation.
   * Returns the function that stops watching. The bootstrap key lives as long as the process.
   */
  watch(principal: OperatorPrincipal, gone: () => void, recheckMs = this.recheckMs): () => void {
    if (principal.id === BOOTSTRAP_PRINCIPAL.id) return () => undefined;
    let stopped = false;
    const stop = () => {
      stopped = true;
      clearInterval(timer);
      this.revokedHere.delete(onRevoked);
    };
    const end = () => {
      if (stopped) return;
      stop();
      gone();
    };
    const onRevoked = (id: string) => {
      if (id === principal.id) end();
    };
    this.revokedHere.add(onRevoked);
    const timer = setInterval(() => {
      this.keys.isActive(principal.id).then(
        (active) => active || end(),
        // The database being away is no reason to drop a dashboard; the next check decides.
        (e: Error) => this.logger.warn(`cannot re-check key ${principal.id}: ${e.message}`),
      );
    }, recheckMs);
    return stop;
  }
}

function toView(row: OperatorKeyRow): OperatorKeyView {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    createdAt: row.createdAt.toISOString(),
    createdBy: row.createdBy,
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
  };
}
