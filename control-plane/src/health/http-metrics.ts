import { Injectable, NestMiddleware } from '@nestjs/common';

/** Counts HTTP requests by method, route pattern (not raw path: ids would explode the series) and status. */
@Injectable()
export class HttpMetrics {
  private readonly counts = new Map<string, number>();

  record(method: string, route: string, status: number): void {
    const key = `${method}\u0000${route}\u0000${status}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  snapshot(): { method: string; route: string; status: string; count: number }[] {
    return [...this.counts].map(([key, count]) => {
      const [method, route, status] = key.split('\u0000') as [string, string, string];
      return { method, route, status, count };
    });
  }
}

interface Req {
  method: string;
  baseUrl?: string;
  route?: { path?: string };
}
interface Res {
  statusCode: number;
  on(event: 'finish', listener: () => void): unknown;
}

/** Sees every request, including those a guard refused, once the response is sent. */
@Injectable()
export class HttpMetricsMiddleware implements NestMiddleware<Req, Res> {
  constructor(private readonly metrics: HttpMetrics) {}

  use(req: Req, res: Res, next: () => void): void {
    res.on('finish', () => {
      const route = req.route?.path ? `${req.baseUrl ?? ''}${req.route.path}` : 'unmatched';
      this.metrics.record(req.method, route, res.statusCode);
    });
    next();
  }
}
