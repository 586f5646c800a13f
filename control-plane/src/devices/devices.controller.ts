import { Body, Controller, Get, Param, Put } from '@nestjs/common';
import { AssignReleaseRequest, type DeviceView } from '@flotilla/shared';
import { ZodBodyPipe } from '../http/zod-body.pipe';
import { DevicesService } from './devices.service';

@Controller('api/v1/devices')
export class DevicesController {
  constructor(private readonly devices: DevicesService) {}

  @Get()
  list(): Promise<DeviceView[]> {
    return this.devices.list();
  }

  @Get(':id')
  get(@Param('id') id: string): Promise<DeviceView> {
    return this.devices.get(id);
  }

  @Put(':id/release')
  assignRelease(@Param('id') id: string, @Body(new ZodBodyPipe(AssignReleaseRequest)) body: AssignReleaseRequest): Promise<DeviceView> {
    return this.devices.assignRelease(id, body.releaseId);
  }
}
