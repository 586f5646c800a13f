import { Body, Controller, Get, HttpCode, Post, Put } from '@nestjs/common';
import { PathParam } from '../http/path-param';
import {
  CreateFleetRequest,
  MoveDeviceRequest,
  SetCertificateValidityRequest,
  SetConfigRequest,
  SetFleetTargetRequest,
  SetFleetUpdatePolicyRequest,
  type DeviceView,
  type FleetTargetJobView,
  type FleetView,
  type SetFleetTargetResponse,
} from '@flotilla/shared';
import { Actor } from '../auth/actor.decorator';
import type { OperatorPrincipal } from '../auth/operator-principal';
import { ZodBodyPipe } from '../http/zod-body.pipe';
import { FleetsService } from './fleets.service';

@Controller('api/v1')
export class FleetsController {
  constructor(private readonly fleets: FleetsService) {}

  @Post('fleets')
  create(@Body(new ZodBodyPipe(CreateFleetRequest)) body: CreateFleetRequest): Promise<FleetView> {
    return this.fleets.create(body);
  }

  @Get('fleets')
  list(): Promise<FleetView[]> {
    return this.fleets.list();
  }

  @Get('fleets/:id')
  get(@PathParam('id', 'uuid') id: string): Promise<FleetView> {
    return this.fleets.get(id);
  }

  /** Assigns the release to every device of the fleet that is not pinned, in the background: 202 with the job to follow. */
  @Put('fleets/:id/target')
  @HttpCode(202)
  setTarget(
    @PathParam('id', 'uuid') id: string,
    @Body(new ZodBodyPipe(SetFleetTargetRequest)) body: SetFleetTargetRequest,
  ): Promise<SetFleetTargetResponse> {
    return this.fleets.setTarget(id, body.releaseId);
  }

  @Get('fleet-target-jobs/:id')
  targetJob(@PathParam('id', 'uuid') id: string): Promise<FleetTargetJobView> {
    return this.fleets.targetJob(id);
  }

  @Put('fleets/:id/config')
  setConfig(@PathParam('id', 'uuid') id: string, @Body(new ZodBodyPipe(SetConfigRequest)) body: SetConfigRequest): Promise<FleetView> {
    return this.fleets.setConfig(id, body.config);
  }

  /** Certificates issued from now on (registrations and renewals) get this validity; issued ones keep theirs. */
  @Put('fleets/:id/certificate-validity')
  setCertificateValidity(
    @PathParam('id', 'uuid') id: string,
    @Body(new ZodBodyPipe(SetCertificateValidityRequest)) body: SetCertificateValidityRequest,
  ): Promise<FleetView> {
    return this.fleets.setCertificateValidity(id, body.certificateValiditySeconds);
  }

  @Put('fleets/:id/update-policy')
  setUpdatePolicy(
    @PathParam('id', 'uuid') id: string,
    @Body(new ZodBodyPipe(SetFleetUpdatePolicyRequest)) body: SetFleetUpdatePolicyRequest,
  ): Promise<FleetView> {
    return this.fleets.setUpdatePolicy(id, body);
  }

  @Put('devices/:id/fleet')
  moveDevice(
    @PathParam('id', 'deviceId') id: string,
    @Body(new ZodBodyPipe(MoveDeviceRequest)) body: MoveDeviceRequest,
    @Actor() actor: OperatorPrincipal,
  ): Promise<DeviceView> {
    return this.fleets.moveDevice(id, body.fleetId, actor);
  }
}
