import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Post, Put, Query } from '@nestjs/common';
import { PathParam } from '../http/path-param';
import {
  AssignReleaseRequest,
  DeviceListQuery,
  DevicePageQuery,
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

@Controller('api/v1/devices')
export class DevicesController {
  constructor(private readonly devices: DevicesService) {}

  /** `DeviceListQuery` filters, `?limit=&cursor=` pages (`{items, nextCursor}`), oldest device first. */
  @Get()
  list(
    @Query(new ZodQueryPipe(DeviceListQuery)) filter: DeviceListQuery,
    @Query(new ZodQueryPipe(DevicePageQuery)) page: DevicePageQuery,
  ): Promise<Page<DeviceView>> {
    return this.devices.list(filter, page);
  }

  @Get(':id')
  get(@PathParam('id', 'deviceId') id: string): Promise<DeviceView> {
    return this.devices.get(id);
  }

  @Put(':id/release')
  assignRelease(
    @PathParam('id', 'deviceId') id: string,
    @Body(new ZodBodyPipe(AssignReleaseRequest)) body: AssignReleaseRequest,
  ): Promise<DeviceView> {
    return this.devices.assignRelease(id, body.releaseId);
  }

  @Put(':id/pin')
  pin(@PathParam('id', 'deviceId') id: string, @Body(new ZodBodyPipe(PinReleaseRequest)) body: PinReleaseRequest): Promise<DeviceView> {
    return this.devices.pin(id, body.releaseId);
  }

  @Delete(':id/pin')
  unpin(@PathParam('id', 'deviceId') id: string): Promise<DeviceView> {
    return this.devices.unpin(id);
  }

  @Put(':id/tags')
  setTags(@PathParam('id', 'deviceId') id: string, @Body(new ZodBodyPipe(SetTagsRequest)) body: SetTagsRequest): Promise<DeviceView> {
    return this.devices.setTags(id, body.tags);
  }

  @Put(':id/config')
  setConfig(@PathParam('id', 'deviceId') id: string, @Body(new ZodBodyPipe(SetConfigRequest)) body: SetConfigRequest): Promise<DeviceView> {
    return this.devices.setConfig(id, body.config);
  }

  /** The device's own maintenance windows, in its time zone; null: its fleet's apply. */
  @Put(':id/update-windows')
  setWindows(
    @PathParam('id', 'deviceId') id: string,
    @Body(new ZodBodyPipe(SetUpdateWindowsRequest)) body: SetUpdateWindowsRequest,
  ): Promise<DeviceView> {
    return this.devices.setWindows(id, body.windows);
  }

  /** Overrides the device's update locks for its current desired state (`desired.updatePolicy.force`). */
  @Post(':id/force-update')
  @HttpCode(HttpStatus.OK)
  forceUpdate(@PathParam('id', 'deviceId') id: string): Promise<DeviceView> {
    return this.devices.forceUpdate(id);
  }

  @Post(':id/decommission')
  @HttpCode(HttpStatus.OK)
  decommission(@PathParam('id', 'deviceId') id: string): Promise<DeviceView> {
    return this.devices.decommission(id);
  }

  /** Same as POST …/decommission: the device row stays, listed as decommissioned. */
  @Delete(':id')
  remove(@PathParam('id', 'deviceId') id: string): Promise<DeviceView> {
    return this.devices.decommission(id);
  }
}
