import { Controller, Get, HttpStatus, Res } from '@nestjs/common';
import { Public } from '../auth/public.decorator';
import { HealthService, type HealthView } from './health.service';

@Controller('healthz')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  /** 503 when a dependency is down, so load balancers and orchestrators route around it. */
  @Public()
  @Get()
  async check(@Res({ passthrough: true }) res: { status(code: number): unknown }): Promise<HealthView> {
    const view = await this.health.check();
    res.status(view.status === 'ok' ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE);
    return view;
  }
}
