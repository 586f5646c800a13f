import { Controller, Get, Query } from '@nestjs/common';
import { PathParam } from '../http/path-param';
import { ZodQueryPipe } from '../http/zod-query.pipe';
import { DeviceNotFoundError } from '../devices/devices.errors';
import { DashboardRepository } from './dashboard.repository';
import {
  DeviceEventsQuery,
  isValidDeviceId,
  type DashboardDevicePage,
  type DashboardOverview,
  type DeviceEventView,
} from '@flotilla/shared';
import { DashboardDeviceQuery } from './device-query';

/** Read routes shaped for the dashboard and the CLI: counts, a searchable device page, a timeline. */
@Controller('api/v1/dashboard')
export class DashboardController {
  constructor(private readonly repo: DashboardRepository) {}

  @Get('overview')
  overview(): Promise<DashboardOverview> {
    return this.repo.overview();
  }

  @Get('devices')
  devices(@Query(new ZodQueryPipe(DashboardDeviceQuery)) query: DashboardDeviceQuery): Promise<DashboardDevicePage> {
    return this.repo.devices(query);
  }

  @Get('devices/:id/events')
  async events(
    @PathParam('id', 'deviceId') id: string,
    @Query(new ZodQueryPipe(DeviceEventsQuery)) query: DeviceEventsQuery,
  ): Promise<DeviceEventView[]> {
    if (!isValidDeviceId(id)) throw new DeviceNotFoundError(id);
    return this.repo.events(id, query.limit);
  }
}
