import { Controller, Get, Query } from '@nestjs/common';
import { PathParam } from '../http/path-param';
import { TelemetryQuery, type TelemetrySeries } from '@flotilla/shared';
import { ZodQueryPipe } from '../http/zod-query.pipe';
import { TelemetryService } from './telemetry.service';

@Controller('api/v1/devices/:id/telemetry')
export class TelemetryController {
  constructor(private readonly telemetry: TelemetryService) {}

  @Get()
  series(
    @PathParam('id', 'deviceId') id: string,
    @Query(new ZodQueryPipe(TelemetryQuery)) query: TelemetryQuery,
  ): Promise<TelemetrySeries> {
    return this.telemetry.series(id, query);
  }
}
