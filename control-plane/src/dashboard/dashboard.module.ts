import { Logger, Module, type DynamicModule, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ChangeFeed, FEED_OVERLAP, FEED_OVERLAP_MS } from './change-feed';
import { ChangeFeedRepository } from './change-feed.repository';
import { DashboardController } from './dashboard.controller';
import { DashboardRepository } from './dashboard.repository';
import { EventsController } from './events.controller';
import { DASHBOARD_DIST, dashboardMiddleware, type Middleware } from './static-app';

/** The web dashboard at `/`, its read routes and the live event stream. */
@Module({})
export class DashboardModule implements OnModuleInit {
  constructor(private readonly adapter: HttpAdapterHost) {}

  static forRoot(feedOverlapMs = FEED_OVERLAP_MS): DynamicModule {
    return {
      module: DashboardModule,
      controllers: [DashboardController, EventsController],
      providers: [DashboardRepository, ChangeFeedRepository, ChangeFeed, { provide: FEED_OVERLAP, useValue: feedOverlapMs }],
    };
  }

  /** At module init the API routes are registered and Nest's 404 handler is not yet: the app goes in between. */
  onModuleInit(): void {
    if (!existsSync(join(DASHBOARD_DIST, 'index.html'))) {
      new Logger('Dashboard').warn(`no built dashboard in ${DASHBOARD_DIST}: run npm run build to serve it at /`);
      return;
    }
    this.adapter.httpAdapter.getInstance<{ use(handler: Middleware): void }>().use(dashboardMiddleware());
  }
}
