import { Controller, Header } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { OPEN_API_ROUTES } from '@flotilla/shared';
import { ApiEndpoint } from '../http/api-endpoint.decorator';
import { buildOpenApiDocument, type OpenApiDocument } from './build-document';
import { DOCS_PAGE, DOCS_PAGE_CSP } from './docs-page';
import { declaredRoutes } from './registered-routes';

/** The API's description is public: it holds no data, and the docs page must load before a key is typed. */
@Controller()
export class OpenApiController {
  private document: OpenApiDocument | undefined;

  constructor(private readonly modules: ModulesContainer) {}

  /** Generated once, from the routes the registered controllers bind: a route is documented because it exists. */
  @ApiEndpoint(OPEN_API_ROUTES.openapi)
  openapi(): OpenApiDocument {
    return (this.document ??= buildOpenApiDocument(declaredRoutes(this.modules), process.env.npm_package_version ?? '0.1.0'));
  }

  @ApiEndpoint(OPEN_API_ROUTES.docs)
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('content-security-policy', DOCS_PAGE_CSP)
  docs(): string {
    return DOCS_PAGE;
  }
}
