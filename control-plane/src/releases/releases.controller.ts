import { Body, Controller, Get, HttpStatus, Param, Post, Res } from '@nestjs/common';
import type { ReleaseView } from '@flotilla/shared';
import { ManifestMediaTypeError } from './releases.errors';
import { ReleasesService } from './releases.service';

@Controller('api/v1/releases')
export class ReleasesController {
  constructor(private readonly releases: ReleasesService) {}

  /** Body: the raw `assembly.yaml` (the text body parser accepts the YAML media types). */
  @Post()
  async publish(@Body() body: unknown, @Res({ passthrough: true }) res: { status(code: number): unknown }): Promise<ReleaseView> {
    // Any other media type reaches here parsed (JSON) or not at all; an empty body is just an invalid manifest.
    if (body !== undefined && typeof body !== 'string') throw new ManifestMediaTypeError();
    const outcome = await this.releases.publish(body ?? '');
    res.status(outcome.status === 'created' ? HttpStatus.CREATED : HttpStatus.OK);
    return outcome.release;
  }

  @Get()
  list(): Promise<ReleaseView[]> {
    return this.releases.list();
  }

  @Get(':id')
  get(@Param('id') id: string): Promise<ReleaseView> {
    return this.releases.get(id);
  }
}
