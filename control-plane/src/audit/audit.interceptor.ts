import { CallHandler, ExecutionContext, Injectable, Logger, NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { concatMap, Observable } from 'rxjs';
import type { OperatorRequest } from '../auth/operator-principal';
import { AuditService } from './audit.service';
import { AUDIT_OMITS, NO_AUDIT } from './no-audit.decorator';

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Records every successful change made by an operator: the route as declared (so entries group
 * by action), the path parameters as the target, the state before when the controller noted
 * it, and the response as the state after. Device-facing public routes have no operator and are
 * not operator changes.
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  private readonly logger = new Logger('Audit');

  constructor(
    private readonly audit: AuditService,
    private readonly reflector: Reflector,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<OperatorRequest & { body?: unknown }>();
    if (READ_METHODS.has(request.method) || !request.operator) return next.handle();
    if (this.reflector.get<boolean | undefined>(NO_AUDIT, context.getHandler())) return next.handle();
    const operator = request.operator;
    const omits = this.reflector.get<string[] | undefined>(AUDIT_OMITS, context.getHandler()) ?? [];
    // The entry is written before the answer leaves, so whoever reads the audit log after a
    // change sees it; a failed write is logged and does not undo the change already made.
    return next.handle().pipe(
      concatMap(async (after: unknown) => {
        const response = context.switchToHttp().getResponse<{ statusCode: number }>();
        const params = Object.values(request.params ?? {});
        await this.audit
          .record({
            actor: operator,
            action: `${request.method} ${request.route?.path ?? '?'}`,
            target: params.length > 0 ? params.join('/') : null,
            statusCode: response.statusCode,
            before: request.auditBefore ?? null,
            after: omit(after ?? request.body ?? null, omits),
          })
          .catch((e: Error) => this.logger.error(`cannot write the audit log: ${e.message}`));
        return after;
      }),
    );
  }
}

/** `value` with each of `fields` (top level) marked as left out, when it has them. */
function omit(value: unknown, fields: readonly string[]): unknown {
  if (fields.length === 0 || value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const field of fields) if (out[field] !== undefined && out[field] !== null) out[field] = '[not kept]';
  return out;
}
