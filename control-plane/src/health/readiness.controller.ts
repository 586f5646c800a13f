import { READINESS_ROUTES } from '@flotilla/shared';
import { ApiEndpoint } from '../http/api-endpoint.decorator';
import { Controller, Header, HttpStatus, Res } from '@nestjs/common';
import { MetricsService } from './metrics.service';
import { ReadinessService, type ReadinessView } from './readiness.service';

@Controller()
export class ReadinessController {
  constructor(
    private readonly readiness: ReadinessService,
    private readonly metrics: MetricsService,
  ) {}

  /** 503 until the database answers, migrations are applied and the broker listens. */
  @ApiEndpoint(READINESS_ROUTES.ready)
  async ready(@Res({ passthrough: true }) res: { status(code: number): unknown }): Promise<ReadinessView> {
    const view = await this.readiness.check();
    res.status(view.ready ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE);
    return view;
  }

  /** Prometheus scrape target; needs a key like every API route (Prometheus sends it with `authorization`). */
  @ApiEndpoint(READINESS_ROUTES.render)
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  render(): Promise<string> {
    return this.metrics.render();
  }
}
