import { DASHBOARD_ROUTES } from '@flotilla/shared';
import { ApiEndpoint } from '../http/api-endpoint.decorator';
import { Controller, Query } from '@nestjs/common';
import { PathParam } from '../http/path-param';
import { ZodQueryPipe } from '../http/zod-query.pipe';
import { DeviceNotFoundError } from '../devices/devices.errors';
import { DashboardRepository } from './dashboard.repository';
import { type DeviceEventsQuery, type DashboardDevicePage, type DashboardOverview, type DeviceEventView } from '@flotilla/shared';
import type { DashboardDeviceQuery } from '@flotilla/shared';

/** Read routes shaped for the dashboard and the CLI: counts, a searchable device page, a timeline. */
@Controller()
export class DashboardController {
  constructor(private readonly repo: DashboardRepository) {}

  @ApiEndpoint(DASHBOARD_ROUTES.overview)
  overview(): Promise<DashboardOverview> {
    return this.repo.overview();
  }

  @ApiEndpoint(DASHBOARD_ROUTES.devices)
  devices(@Query(new ZodQueryPipe(DASHBOARD_ROUTES.devices.query)) query: DashboardDeviceQuery): Promise<DashboardDevicePage> {
    return this.repo.devices(query);
  }

  @ApiEndpoint(DASHBOARD_ROUTES.events)
  async events(
    @PathParam('id', 'deviceId') id: string,
    @Query(new ZodQueryPipe(DASHBOARD_ROUTES.events.query)) query: DeviceEventsQuery,
  ): Promise<DeviceEventView[]> {
    const events = await this.repo.events(id, query.limit);
    if (!events) throw new DeviceNotFoundError(id);
    return events;
  }
}
