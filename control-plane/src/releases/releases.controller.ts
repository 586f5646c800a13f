import { RELEASES_ROUTES } from '@flotilla/shared';
import { ApiEndpoint } from '../http/api-endpoint.decorator';
import { Body, Controller, Headers, HttpStatus, Query, Res } from '@nestjs/common';
import { PathParam } from '../http/path-param';
import { type PageQuery, type ReleaseListQuery, type Page, type ReleaseDiff, type ReleaseView } from '@flotilla/shared';
import { Actor } from '../auth/actor.decorator';
import type { OperatorPrincipal } from '../auth/operator-principal';
import { idempotencyKey } from '../http/idempotency';
import { ZodQueryPipe } from '../http/zod-query.pipe';
import { ManifestMediaTypeError } from './releases.errors';
import { ReleasesService } from './releases.service';

@Controller()
export class ReleasesController {
  constructor(private readonly releases: ReleasesService) {}

  /**
   * Body: the raw `assembly.yaml` (the text body parser accepts the YAML media types). 201 when
   * created; 200 when the same content was published before or an `Idempotency-Key` is replayed.
   */
  @ApiEndpoint(RELEASES_ROUTES.publish)
  async publish(
    @Body() body: unknown,
    @Headers('idempotency-key') idempotencyHeader: string | undefined,
    @Actor() actor: OperatorPrincipal,
    @Res({ passthrough: true }) res: { status(code: number): unknown },
  ): Promise<ReleaseView> {
    // JSON reaches here parsed (any type no parser reads was answered 415); an empty body is just an invalid manifest.
    if (body !== undefined && typeof body !== 'string') throw new ManifestMediaTypeError();
    const outcome = await this.releases.publish(body ?? '', actor.name, idempotencyKey(idempotencyHeader));
    res.status(outcome.status === 'created' ? HttpStatus.CREATED : HttpStatus.OK);
    return outcome.release;
  }

  @ApiEndpoint(RELEASES_ROUTES.list)
  list(@Query(new ZodQueryPipe(RELEASES_ROUTES.list.query)) query: ReleaseListQuery & PageQuery): Promise<Page<ReleaseView>> {
    const { limit, cursor, ...filter } = query;
    return this.releases.list(filter, { limit, cursor });
  }

  @ApiEndpoint(RELEASES_ROUTES.get)
  get(@PathParam('id', 'uuid') id: string): Promise<ReleaseView> {
    return this.releases.get(id);
  }

  /** What changes from release `:id` to release `:otherId`, and which images a device must fetch. */
  @ApiEndpoint(RELEASES_ROUTES.diff)
  diff(@PathParam('id', 'uuid') id: string, @PathParam('otherId', 'uuid') otherId: string): Promise<ReleaseDiff> {
    return this.releases.diff(id, otherId);
  }
}
