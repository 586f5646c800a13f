import { Injectable } from '@nestjs/common';
import type { AuditEntryView, AuditQuery, Page, PageQuery } from '@flotilla/shared';
import { decodeCursor, encodeCursor } from '../http/cursor';
import { AuditRepository, type NewAuditEntry } from './audit.repository';
import { redactSecrets } from './redact';

/** Who changed what, when, from what to what. Secrets never reach the table. */
@Injectable()
export class AuditService {
  constructor(private readonly audit: AuditRepository) {}

  record(entry: NewAuditEntry): Promise<void> {
    return this.audit.append({ ...entry, before: redactSecrets(entry.before), after: redactSecrets(entry.after) });
  }

  async list(filter: AuditQuery, page: PageQuery): Promise<Page<AuditEntryView>> {
    const position = decodeCursor(page.cursor, ['bigint']);
    const items = await this.audit.list(filter, page.limit + 1, position ? String(position[0]) : undefined);
    const more = items.length > page.limit;
    const shown = more ? items.slice(0, page.limit) : items;
    return { items: shown, nextCursor: more ? encodeCursor([shown.at(-1)!.id]) : null };
  }
}
