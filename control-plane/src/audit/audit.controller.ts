import { AUDIT_ROUTES } from '@flotilla/shared';
import { ApiEndpoint } from '../http/api-endpoint.decorator';
import { Controller, Query } from '@nestjs/common';
import { AuditQuery, PageQuery, type AuditEntryView, type Page } from '@flotilla/shared';
import { ZodQueryPipe } from '../http/zod-query.pipe';
import { AuditService } from './audit.service';

@Controller()
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @ApiEndpoint(AUDIT_ROUTES.list)
  list(
    @Query(new ZodQueryPipe(AuditQuery)) filter: AuditQuery,
    @Query(new ZodQueryPipe(PageQuery)) page: PageQuery,
  ): Promise<Page<AuditEntryView>> {
    return this.audit.list(filter, page);
  }
}
