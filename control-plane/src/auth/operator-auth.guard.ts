import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthenticationError } from '../domain-error';
import { IS_PUBLIC } from './public.decorator';
import { bearerToken, secretsEqual } from './secrets';

export const OPERATOR_API_KEY = Symbol('OperatorApiKey');

/** Every route needs `Authorization: Bearer <operator key>` unless marked `@Public()`. */
@Injectable()
export class OperatorAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(OPERATOR_API_KEY) private readonly apiKey: string,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const isPublic = this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC, [context.getHandler(), context.getClass()]);
    if (isPublic) return true;
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>();
    const token = bearerToken(request.headers.authorization);
    if (token === undefined) throw new AuthenticationError('unauthorized', 'missing "Authorization: Bearer <operator key>"');
    if (!secretsEqual(token, this.apiKey)) throw new AuthenticationError('unauthorized', 'invalid operator key');
    return true;
  }
}
