import { AuditEntryView, AuditQuery } from '../operators';
import { PageQuery } from '../pagination';
import { route } from '../route';
import { list } from './views';

/** The routes of `control-plane/src/audit/audit.controller.ts`. */
export const AUDIT_ROUTES = {
  list: route({
    method: 'get',
    path: '/api/v1/audit',
    tag: 'operators',
    summary: 'The audit log, newest first',
    access: 'viewer',
    query: AuditQuery.extend(PageQuery.shape),
    status: 200,
    response: list('AuditPage', AuditEntryView),
  }),
};
