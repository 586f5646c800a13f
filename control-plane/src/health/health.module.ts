import { DynamicModule, MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { DevicesModule } from '../devices/devices.module';
import { DatabaseProbeRepository } from './database-probe.repository';
import { HealthController } from './health.controller';
import { HealthService } from './health.service';
import { HttpMetrics, HttpMetricsMiddleware } from './http-metrics';
import { MetricsService } from './metrics.service';
import { ReadinessController } from './readiness.controller';
import { ReadinessService } from './readiness.service';

/**
 * `/healthz`, `/readyz`, `/metrics`. `rolloutsModule` provides the rollout counts (passed in by
 * the app module, so this module does not pick a configuration of it).
 */
@Module({})
export class HealthModule implements NestModule {
  static forRoot(rolloutsModule: DynamicModule): DynamicModule {
    return {
      module: HealthModule,
      imports: [DevicesModule, rolloutsModule],
      controllers: [HealthController, ReadinessController],
      providers: [DatabaseProbeRepository, HealthService, ReadinessService, HttpMetrics, HttpMetricsMiddleware, MetricsService],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(HttpMetricsMiddleware).forRoutes({ path: '*path', method: RequestMethod.ALL });
  }
}
