import { Controller, Get, Header } from '@nestjs/common';
import { Public } from '../auth/public.decorator';
import { API_ROUTES } from './api-routes';
import { buildOpenApiDocument, type OpenApiDocument } from './build-document';
import { DOCS_PAGE, DOCS_PAGE_CSP } from './docs-page';

/** The API's description is public: it holds no data, and the docs page must load before a key is typed. */
@Controller()
@Public()
export class OpenApiController {
  private document: OpenApiDocument | undefined;

  @Get('api/v1/openapi.json')
  openapi(): OpenApiDocument {
    return (this.document ??= buildOpenApiDocument(API_ROUTES, process.env.npm_package_version ?? '0.1.0'));
  }

  @Get('api/docs')
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('content-security-policy', DOCS_PAGE_CSP)
  docs(): string {
    return DOCS_PAGE;
  }
}
