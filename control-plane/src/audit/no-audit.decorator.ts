import { SetMetadata } from '@nestjs/common';

export const NO_AUDIT = 'flotilla:no-audit';

/** For a POST that changes nothing (a dry run): the audit log records changes only. */
export const NoAudit = (): MethodDecorator => SetMetadata(NO_AUDIT, true);

export const AUDIT_OMITS = 'flotilla:audit-omits';

/**
 * Top-level fields of the answer the audit log does not keep: what a route reads rather than
 * changes, which the log's readers may not be allowed to read (every key, viewers included, reads
 * the log). A command's `output` is a component's logs, which only operators may ask for.
 */
export const AuditOmits = (...fields: string[]): MethodDecorator => SetMetadata(AUDIT_OMITS, fields);
