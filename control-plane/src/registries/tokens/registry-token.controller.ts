import { REGISTRY_TOKEN_ROUTES } from '@flotilla/shared';
import { ApiEndpoint } from '../../http/api-endpoint.decorator';
import { Controller, Query, Req, Res } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { OperatorKeysService } from '../../auth/operator-keys.service';
import { RegistryTokenAuthService } from './registry-token-auth.service';

/**
 * The token realm of the project's registry (Docker distribution's token authentication, "the
 * token endpoint"): `docker login`, `push` and `pull` against it send an operator key as the
 * Basic password (any user name) and get a token for what the key's role allows: viewers pull,
 * operators and admins also push. Public to the guard, which knows only Bearer keys; the key is
 * checked here. Devices never come here: their pull tokens arrive with their desired state.
 */
@Controller()
export class RegistryTokenController {
  constructor(
    private readonly keys: OperatorKeysService,
    private readonly tokens: RegistryTokenAuthService,
  ) {}

  @ApiEndpoint(REGISTRY_TOKEN_ROUTES.token)
  async token(
    @Query('service') service: unknown,
    @Query('scope') scope: unknown,
    @Req() req: IncomingMessage,
    @Res({ passthrough: true }) res: ServerResponse,
  ): Promise<unknown> {
    const operator = await this.keys.authenticate(keyOf(req.headers.authorization) ?? '');
    if (!operator) {
      // Docker reads a 401 with a Basic challenge as "wrong user name or password".
      res.statusCode = 401;
      res.setHeader('www-authenticate', 'Basic realm="flotilla"');
      return {
        statusCode: 401,
        code: 'unauthorized',
        message: 'send an operator key as the password (docker login -u any-name --password-stdin)',
      };
    }
    const scopes = (Array.isArray(scope) ? scope : [scope]).filter((s): s is string => typeof s === 'string').flatMap((s) => s.split(' '));
    return this.tokens.issueForOperator(typeof service === 'string' ? service : '', scopes, operator, new Date());
  }
}

/** The key from `Basic base64(user:key)` or `Bearer key`. */
function keyOf(header: string | undefined): string | undefined {
  const match = /^\s*(basic|bearer)\s+(\S+)\s*$/i.exec(header ?? '');
  if (!match) return undefined;
  if (match[1]!.toLowerCase() === 'bearer') return match[2];
  const decoded = Buffer.from(match[2]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}
