import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { OperatorRole } from '@flotilla/shared';
import { AuthenticationError, ForbiddenError } from '../domain-error';
import { OperatorKeysService } from './operator-keys.service';
import type { OperatorRequest } from './operator-principal';
import { IS_PUBLIC } from './public.decorator';
import { REQUIRED_ROLE } from './require-role.decorator';
import { requiredRole, roleSatisfies } from './roles';
import { bearerToken } from './secrets';

/**
 * Every route needs `Authorization: Bearer <operator key>` unless marked `@Public()`, and a role
 * that allows it: viewers read, operators change, admins also manage keys.
 */
@Injectable()
export class OperatorAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: OperatorKeysService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC, targets)) return true;
    const request = context.switchToHttp().getRequest<OperatorRequest>();
    const header = request.headers.authorization;
    const token = bearerToken(Array.isArray(header) ? header[0] : header);
    if (token === undefined) throw new AuthenticationError('unauthorized', 'missing "Authorization: Bearer <operator key>"');
    const principal = await this.keys.authenticate(token);
    if (!principal) throw new AuthenticationError('unauthorized', 'invalid or revoked operator key');
    const needed = requiredRole(request.method, this.reflector.getAllAndOverride<OperatorRole | undefined>(REQUIRED_ROLE, targets));
    if (!roleSatisfies(principal.role, needed)) {
      throw new ForbiddenError('forbidden', `the ${principal.role} key "${principal.name}" may not do this; it needs the ${needed} role`);
    }
    request.operator = principal;
    return true;
  }
}
