import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { BOOTSTRAP_PRINCIPAL, type OperatorPrincipal, type OperatorRequest } from './operator-principal';

/** The authenticated operator of the request (the guard has run before any handler). */
export const Actor = createParamDecorator(
  (_data: unknown, context: ExecutionContext): OperatorPrincipal =>
    context.switchToHttp().getRequest<OperatorRequest>().operator ?? BOOTSTRAP_PRINCIPAL,
);

/** Lets the audit log record the state before a change; call it before changing. */
export function noteAuditBefore(request: OperatorRequest, before: unknown): void {
  request.auditBefore = before;
}
