import { LIBRARY_ROUTES } from '@flotilla/shared';
import { ApiEndpoint } from '../http/api-endpoint.decorator';
import { Body, Controller, HttpStatus, Res } from '@nestjs/common';
import { PathParam } from '../http/path-param';
import type { ComponentView } from '@flotilla/shared';
import { Actor } from '../auth/actor.decorator';
import type { OperatorPrincipal } from '../auth/operator-principal';
import { LibraryService } from './library.service';

@Controller()
export class LibraryController {
  constructor(private readonly library: LibraryService) {}

  /** Body: the component as YAML (application/yaml, text/yaml, text/plain) or JSON. 201 when new, 200 for an identical re-upload. */
  @ApiEndpoint(LIBRARY_ROUTES.add)
  async add(
    @Body() body: unknown,
    @Actor() actor: OperatorPrincipal,
    @Res({ passthrough: true }) res: { status(code: number): unknown },
  ): Promise<ComponentView> {
    const outcome = await this.library.add(body, actor.name);
    res.status(outcome.status === 'created' ? HttpStatus.CREATED : HttpStatus.OK);
    return outcome.component;
  }

  @ApiEndpoint(LIBRARY_ROUTES.list)
  list(): Promise<ComponentView[]> {
    return this.library.list();
  }

  /** Every version of one component, newest first; 404 when the library holds none (as for one version). */
  @ApiEndpoint(LIBRARY_ROUTES.versions)
  versions(@PathParam('name', 'componentName') name: string): Promise<ComponentView[]> {
    return this.library.versions(name);
  }

  @ApiEndpoint(LIBRARY_ROUTES.get)
  get(@PathParam('name', 'componentName') name: string, @PathParam('version', 'version') version: string): Promise<ComponentView> {
    return this.library.get(name, version);
  }
}
