import { PROVISIONING_ROUTES } from '@flotilla/shared';
import { ApiEndpoint } from '../http/api-endpoint.decorator';
import { Body, Controller, Req } from '@nestjs/common';
import { PathParam } from '../http/path-param';
import { hostHeader } from '../http/request-authority';
import {
  CreateProvisioningTokenRequest,
  DeviceCertificateRequest,
  RegisterDeviceRequest,
  type DeviceCertificateResponse,
  type ProvisioningTokenSummary,
  type ProvisioningTokenView,
  type RegisterDeviceResponse,
} from '@flotilla/shared';
import { Actor } from '../auth/actor.decorator';
import type { OperatorPrincipal } from '../auth/operator-principal';
import { ZodBodyPipe } from '../http/zod-body.pipe';
import { DeviceCertificatesService } from './device-certificates.service';
import { ProvisioningService, type RequestOrigin } from './provisioning.service';

interface HttpRequest {
  protocol: string;
  hostname: string;
  headers: Record<string, string | string[] | undefined>;
}

@Controller()
export class ProvisioningController {
  constructor(
    private readonly provisioning: ProvisioningService,
    private readonly certificates: DeviceCertificatesService,
  ) {}

  /** `fleetId` in the body makes a fleet-scoped token. */
  @ApiEndpoint(PROVISIONING_ROUTES.createToken)
  createToken(
    @Body(new ZodBodyPipe(CreateProvisioningTokenRequest)) body: CreateProvisioningTokenRequest,
    @Req() req: HttpRequest,
    @Actor() actor: OperatorPrincipal,
  ): Promise<ProvisioningTokenView> {
    return this.provisioning.createToken(body, origin(req), actor);
  }

  @ApiEndpoint(PROVISIONING_ROUTES.createFleetToken)
  createFleetToken(
    @PathParam('id', 'uuid') fleetId: string,
    @Body(new ZodBodyPipe(CreateProvisioningTokenRequest)) body: CreateProvisioningTokenRequest,
    @Req() req: HttpRequest,
    @Actor() actor: OperatorPrincipal,
  ): Promise<ProvisioningTokenView> {
    return this.provisioning.createToken({ ...body, fleetId }, origin(req), actor);
  }

  /** No device can register with the token afterwards; devices registered with it are not affected. */
  @ApiEndpoint(PROVISIONING_ROUTES.revokeToken)
  revokeToken(@PathParam('id', 'uuid') id: string): Promise<ProvisioningTokenSummary> {
    return this.provisioning.revokeToken(id);
  }

  /** Public: a new board holds only its provisioning token, which the service checks. */
  @ApiEndpoint(PROVISIONING_ROUTES.register)
  register(
    @Body(new ZodBodyPipe(RegisterDeviceRequest)) body: RegisterDeviceRequest,
    @Req() req: HttpRequest,
  ): Promise<RegisterDeviceResponse> {
    return this.provisioning.register(body, origin(req));
  }

  /** Public: the device proves itself in the body (its current certificate, or its password). */
  @ApiEndpoint(PROVISIONING_ROUTES.renewCertificate)
  renewCertificate(@Body(new ZodBodyPipe(DeviceCertificateRequest)) body: DeviceCertificateRequest): Promise<DeviceCertificateResponse> {
    return this.certificates.reissue(body);
  }
}

function origin(req: HttpRequest): RequestOrigin {
  return { protocol: req.protocol, hostHeader: hostHeader(req) };
}
