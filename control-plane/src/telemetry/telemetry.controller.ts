import { TELEMETRY_ROUTES } from '@flotilla/shared';
import { ApiEndpoint } from '../http/api-endpoint.decorator';
import { Controller, Query } from '@nestjs/common';
import { PathParam } from '../http/path-param';
import { type TelemetryQuery, type TelemetrySeries } from '@flotilla/shared';
import { ZodQueryPipe } from '../http/zod-query.pipe';
import { TelemetryService } from './telemetry.service';

@Controller()
export class TelemetryController {
  constructor(private readonly telemetry: TelemetryService) {}

  @ApiEndpoint(TELEMETRY_ROUTES.series)
  series(
    @PathParam('id', 'deviceId') id: string,
    @Query(new ZodQueryPipe(TELEMETRY_ROUTES.series.query)) query: TelemetryQuery,
  ): Promise<TelemetrySeries> {
    return this.telemetry.series(id, query);
  }
}
