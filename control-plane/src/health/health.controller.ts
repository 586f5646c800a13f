import { HEALTH_ROUTES } from '@flotilla/shared';
import { ApiEndpoint } from '../http/api-endpoint.decorator';
import { Controller, HttpStatus, Res } from '@nestjs/common';
import { HealthService, type HealthView } from './health.service';

@Controller()
export class HealthController {
  constructor(private readonly health: HealthService) {}

  /** 503 when a dependency is down, so load balancers and orchestrators route around it. */
  @ApiEndpoint(HEALTH_ROUTES.check)
  async check(@Res({ passthrough: true }) res: { status(code: number): unknown }): Promise<HealthView> {
    const view = await this.health.check();
    res.status(view.status === 'ok' ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE);
    return view;
  }
}
