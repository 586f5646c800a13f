import { FLEETS_ROUTES } from '@flotilla/shared';
import { ApiEndpoint } from '../http/api-endpoint.decorator';
import { Body, Controller } from '@nestjs/common';
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

@Controller()
export class FleetsController {
  constructor(private readonly fleets: FleetsService) {}

  @ApiEndpoint(FLEETS_ROUTES.create)
  create(@Body(new ZodBodyPipe(CreateFleetRequest)) body: CreateFleetRequest): Promise<FleetView> {
    return this.fleets.create(body);
  }

  @ApiEndpoint(FLEETS_ROUTES.list)
  list(): Promise<FleetView[]> {
    return this.fleets.list();
  }

  @ApiEndpoint(FLEETS_ROUTES.get)
  get(@PathParam('id', 'uuid') id: string): Promise<FleetView> {
    return this.fleets.get(id);
  }

  /** Assigns the release to every device of the fleet that is not pinned, in the background: 202 with the job to follow. */
  @ApiEndpoint(FLEETS_ROUTES.setTarget)
  setTarget(
    @PathParam('id', 'uuid') id: string,
    @Body(new ZodBodyPipe(SetFleetTargetRequest)) body: SetFleetTargetRequest,
  ): Promise<SetFleetTargetResponse> {
    return this.fleets.setTarget(id, body.releaseId);
  }

  @ApiEndpoint(FLEETS_ROUTES.targetJob)
  targetJob(@PathParam('id', 'uuid') id: string): Promise<FleetTargetJobView> {
    return this.fleets.targetJob(id);
  }

  @ApiEndpoint(FLEETS_ROUTES.setConfig)
  setConfig(@PathParam('id', 'uuid') id: string, @Body(new ZodBodyPipe(SetConfigRequest)) body: SetConfigRequest): Promise<FleetView> {
    return this.fleets.setConfig(id, body.config);
  }

  /** Certificates issued from now on (registrations and renewals) get this validity; issued ones keep theirs. */
  @ApiEndpoint(FLEETS_ROUTES.setCertificateValidity)
  setCertificateValidity(
    @PathParam('id', 'uuid') id: string,
    @Body(new ZodBodyPipe(SetCertificateValidityRequest)) body: SetCertificateValidityRequest,
  ): Promise<FleetView> {
    return this.fleets.setCertificateValidity(id, body.certificateValiditySeconds);
  }

  @ApiEndpoint(FLEETS_ROUTES.setUpdatePolicy)
  setUpdatePolicy(
    @PathParam('id', 'uuid') id: string,
    @Body(new ZodBodyPipe(SetFleetUpdatePolicyRequest)) body: SetFleetUpdatePolicyRequest,
  ): Promise<FleetView> {
    return this.fleets.setUpdatePolicy(id, body);
  }

  @ApiEndpoint(FLEETS_ROUTES.moveDevice)
  moveDevice(
    @PathParam('id', 'deviceId') id: string,
    @Body(new ZodBodyPipe(MoveDeviceRequest)) body: MoveDeviceRequest,
    @Actor() actor: OperatorPrincipal,
  ): Promise<DeviceView> {
    return this.fleets.moveDevice(id, body.fleetId, actor);
  }
}
