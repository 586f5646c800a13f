import { Controller, Get, Query } from '@nestjs/common';
import { AuditQuery, PageQuery, type AuditEntryView, type Page } from '@flotilla/shared';
import { ZodQueryPipe } from '../http/zod-query.pipe';
import { AuditService } from './audit.service';

@Controller('api/v1/audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  list(
    @Query(new ZodQueryPipe(AuditQuery)) filter: AuditQuery,
    @Query(new ZodQueryPipe(PageQuery)) page: PageQuery,
  ): Promise<Page<AuditEntryView>> {
    return this.audit.list(filter, page);
  }
}
