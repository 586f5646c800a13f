import { Body, Controller, Post, Req } from '@nestjs/common';
import {
  CreateProvisioningTokenRequest,
  RegisterDeviceRequest,
  type ProvisioningTokenView,
  type RegisterDeviceResponse,
} from '@flotilla/shared';
import { Public } from '../auth/public.decorator';
import { ZodBodyPipe } from '../http/zod-body.pipe';
import { ProvisioningService } from './provisioning.service';

@Controller('api/v1')
export class ProvisioningController {
  constructor(private readonly provisioning: ProvisioningService) {}

  @Post('provisioning-tokens')
  createToken(@Body(new ZodBodyPipe(CreateProvisioningTokenRequest)) body: CreateProvisioningTokenRequest): Promise<ProvisioningTokenView> {
    return this.provisioning.createToken(body);
  }

  /** Public: a new board holds only its provisioning token, which the service checks. */
  @Public()
  @Post('devices/register')
  register(
    @Body(new ZodBodyPipe(RegisterDeviceRequest)) body: RegisterDeviceRequest,
    @Req() req: { hostname: string },
  ): Promise<RegisterDeviceResponse> {
    return this.provisioning.register(body, req.hostname);
  }
}
