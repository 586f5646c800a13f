import { Injectable } from '@nestjs/common';
import { isValidDeviceId, type TelemetryQuery, type TelemetrySeries } from '@flotilla/shared';
import { InvalidInputError, NotFoundError } from '../domain-error';
import { TelemetryRepository } from './telemetry.repository';

const DEFAULT_WINDOW_MS = 3_600_000;

export class TelemetryDeviceNotFoundError extends NotFoundError {
  constructor(id: string) {
    super('device_not_found', `no device "${id}"`);
  }
}

@Injectable()
export class TelemetryService {
  constructor(private readonly samples: TelemetryRepository) {}

  /** The latest sample and the samples in [from, to) (default: the last hour), averaged per `step` seconds when given. */
  async series(deviceId: string, query: TelemetryQuery): Promise<TelemetrySeries> {
    if (!isValidDeviceId(deviceId) || !(await this.samples.deviceExists(deviceId))) throw new TelemetryDeviceNotFoundError(deviceId);
    const to = query.to ? new Date(query.to) : new Date();
    const from = query.from ? new Date(query.from) : new Date(to.getTime() - DEFAULT_WINDOW_MS);
    if (from >= to)
      throw new InvalidInputError('invalid_query', '`from` must be before `to`', [{ path: 'from', message: 'not before to' }]);
    const points =
      query.step === undefined
        ? await this.samples.raw(deviceId, from, to, query.limit)
        : await this.samples.downsampled(deviceId, from, to, query.step, query.limit);
    return {
      deviceId,
      from: from.toISOString(),
      to: to.toISOString(),
      step: query.step ?? null,
      latest: await this.samples.latest(deviceId),
      points,
    };
  }
}
