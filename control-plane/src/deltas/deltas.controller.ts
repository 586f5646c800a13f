import { Body, Controller, Query, Req, Res } from '@nestjs/common';
import { DELTAS_ROUTES, ImageDeltaRequest, type ImageDelta } from '@flotilla/shared';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DeviceLinkService } from '../devices/device-link.service';
import { AuthenticationError } from '../domain-error';
import { ApiEndpoint } from '../http/api-endpoint.decorator';
import { PathParam } from '../http/path-param';
import { ZodBodyPipe } from '../http/zod-body.pipe';
import { DeltasService } from './deltas.service';

/** Operators (and `flotilla delta` in CI): compute the delta now and wait for it. */
@Controller()
export class DeltasController {
  constructor(private readonly deltas: DeltasService) {}

  @ApiEndpoint(DELTAS_ROUTES.compute)
  compute(@Body(new ZodBodyPipe(ImageDeltaRequest)) body: ImageDeltaRequest): Promise<ImageDelta> {
    return this.deltas.get(body, true);
  }
}

/**
 * Devices fetch deltas with their own credentials (HTTP Basic: device id and MQTT password),
 * never an operator key; only deltas to the images of their own desired release.
 * 200 with the delta (`status` says whether it is ready yet), then the delta files by digest.
 */
@Controller()
export class DeviceDeltasController {
  constructor(
    private readonly deltas: DeltasService,
    private readonly link: DeviceLinkService,
  ) {}

  @ApiEndpoint(DELTAS_ROUTES.forDevice)
  async get(@Query() query: unknown, @Req() req: IncomingMessage): Promise<ImageDelta> {
    return this.deltas.getForDevice(await this.device(req), query);
  }

  @ApiEndpoint(DELTAS_ROUTES.blobForDevice)
  async blob(@PathParam('digest', 'sha256Digest') digest: string, @Req() req: IncomingMessage, @Res() res: ServerResponse): Promise<void> {
    const bytes = await this.deltas.fileForDevice(await this.device(req), digest);
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': String(bytes.length),
      'docker-content-digest': digest,
    });
    res.end(bytes);
  }

  private async device(req: IncomingMessage): Promise<string> {
    const match = /^\s*basic\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    const decoded = match ? Buffer.from(match[1]!, 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    const [deviceId, password] = colon < 0 ? ['', ''] : [decoded.slice(0, colon), decoded.slice(colon + 1)];
    if (!deviceId || (await this.link.checkCredentials(deviceId, password)) !== 'accepted')
      throw new AuthenticationError('device_credentials_invalid', 'send the device id and password as HTTP Basic credentials');
    return deviceId;
  }
}
