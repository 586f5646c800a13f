import { DEVICES_ROUTES } from '@flotilla/shared';
import { ApiEndpoint } from '../http/api-endpoint.decorator';
import { Body, Controller, Query } from '@nestjs/common';
import { PathParam } from '../http/path-param';
import {
  AssignReleaseRequest,
  type DeviceListQuery,
  type DevicePageQuery,
  PinReleaseRequest,
  SetConfigRequest,
  SetTagsRequest,
  SetUpdateWindowsRequest,
  type DeviceView,
  type Page,
} from '@flotilla/shared';
import { ZodBodyPipe } from '../http/zod-body.pipe';
import { ZodQueryPipe } from '../http/zod-query.pipe';
import { DevicesService } from './devices.service';

@Controller()
export class DevicesController {
  constructor(private readonly devices: DevicesService) {}

  /** `DeviceListQuery` filters, `?limit=&cursor=` pages (`{items, nextCursor}`), oldest device first. */
  @ApiEndpoint(DEVICES_ROUTES.list)
  list(@Query(new ZodQueryPipe(DEVICES_ROUTES.list.query)) query: DeviceListQuery & DevicePageQuery): Promise<Page<DeviceView>> {
    const { limit, cursor, ...filter } = query;
    return this.devices.list(filter, { limit, cursor });
  }

  @ApiEndpoint(DEVICES_ROUTES.get)
  get(@PathParam('id', 'deviceId') id: string): Promise<DeviceView> {
    return this.devices.get(id);
  }

  @ApiEndpoint(DEVICES_ROUTES.assignRelease)
  assignRelease(
    @PathParam('id', 'deviceId') id: string,
    @Body(new ZodBodyPipe(AssignReleaseRequest)) body: AssignReleaseRequest,
  ): Promise<DeviceView> {
    return this.devices.assignRelease(id, body.releaseId);
  }

  @ApiEndpoint(DEVICES_ROUTES.pin)
  pin(@PathParam('id', 'deviceId') id: string, @Body(new ZodBodyPipe(PinReleaseRequest)) body: PinReleaseRequest): Promise<DeviceView> {
    return this.devices.pin(id, body.releaseId);
  }

  @ApiEndpoint(DEVICES_ROUTES.unpin)
  unpin(@PathParam('id', 'deviceId') id: string): Promise<DeviceView> {
    return this.devices.unpin(id);
  }

  @ApiEndpoint(DEVICES_ROUTES.setTags)
  setTags(@PathParam('id', 'deviceId') id: string, @Body(new ZodBodyPipe(SetTagsRequest)) body: SetTagsRequest): Promise<DeviceView> {
    return this.devices.setTags(id, body.tags);
  }

  @ApiEndpoint(DEVICES_ROUTES.setConfig)
  setConfig(@PathParam('id', 'deviceId') id: string, @Body(new ZodBodyPipe(SetConfigRequest)) body: SetConfigRequest): Promise<DeviceView> {
    return this.devices.setConfig(id, body.config);
  }

  /** The device's own maintenance windows, in its time zone; null: its fleet's apply. */
  @ApiEndpoint(DEVICES_ROUTES.setWindows)
  setWindows(
    @PathParam('id', 'deviceId') id: string,
    @Body(new ZodBodyPipe(SetUpdateWindowsRequest)) body: SetUpdateWindowsRequest,
  ): Promise<DeviceView> {
    return this.devices.setWindows(id, body.windows);
  }

  /** Overrides the device's update locks for its current desired state (`desired.updatePolicy.force`). */
  @ApiEndpoint(DEVICES_ROUTES.forceUpdate)
  forceUpdate(@PathParam('id', 'deviceId') id: string): Promise<DeviceView> {
    return this.devices.forceUpdate(id);
  }

  @ApiEndpoint(DEVICES_ROUTES.decommission)
  decommission(@PathParam('id', 'deviceId') id: string): Promise<DeviceView> {
    return this.devices.decommission(id);
  }

  /** Same as POST …/decommission: the device row stays, listed as decommissioned. */
  @ApiEndpoint(DEVICES_ROUTES.remove)
  remove(@PathParam('id', 'deviceId') id: string): Promise<DeviceView> {
    return this.devices.decommission(id);
  }
}
