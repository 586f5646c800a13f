import { SetMetadata } from '@nestjs/common';

export const NO_AUDIT = 'flotilla:no-audit';

/** For a POST that changes nothing (a dry run): the audit log records changes only. */
export const NoAudit = (): MethodDecorator => SetMetadata(NO_AUDIT, true);
