import { AUDIT_ROUTES } from '@flotilla/shared';
import { ApiEndpoint } from '../http/api-endpoint.decorator';
import { Controller, Query } from '@nestjs/common';
import { type AuditQuery, type PageQuery, type AuditEntryView, type Page } from '@flotilla/shared';
import { ZodQueryPipe } from '../http/zod-query.pipe';
import { AuditService } from './audit.service';

@Controller()
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @ApiEndpoint(AUDIT_ROUTES.list)
  list(@Query(new ZodQueryPipe(AUDIT_ROUTES.list.query)) query: AuditQuery & PageQuery): Promise<Page<AuditEntryView>> {
    const { limit, cursor, ...filter } = query;
    return this.audit.list(filter, { limit, cursor });
  }
}
