import { z } from 'zod';

/** Operator API keys and the audit log. */
export const OPERATOR_ROLES = ['admin', 'operator', 'viewer'] as const;
export type OperatorRole = (typeof OPERATOR_ROLES)[number];

export const CreateOperatorKeyRequest = z
  .object({
    name: z.string().min(1).max(128),
    role: z.enum(OPERATOR_ROLES),
  })
  .strict();
export type CreateOperatorKeyRequest = z.infer<typeof CreateOperatorKeyRequest>;

export const OperatorKeyView = z.object({
  id: z.string(),
  name: z.string(),
  role: z.enum(OPERATOR_ROLES),
  createdAt: z.string(),
  createdBy: z.string(),
  lastUsedAt: z.string().nullable(),
});
export type OperatorKeyView = z.infer<typeof OperatorKeyView>;

/** Returned once, at creation: the key in clear text; only its hash is kept. */
export const CreatedOperatorKey = OperatorKeyView.extend({ key: z.string() });
export type CreatedOperatorKey = z.infer<typeof CreatedOperatorKey>;

export const AuditEntryView = z.object({
  id: z.string(),
  at: z.string(),
  /** The key that acted: `<key id>` or `bootstrap`, with its name and role. */
  actor: z.object({ id: z.string(), name: z.string(), role: z.enum(OPERATOR_ROLES) }),
  /** `METHOD /route/:pattern`, e.g. `POST /api/v1/rollouts/:id/pause`. */
  action: z.string(),
  target: z.string().nullable(),
  statusCode: z.number().int(),
  before: z.unknown().nullable(),
  after: z.unknown().nullable(),
});
export type AuditEntryView = z.infer<typeof AuditEntryView>;

export const AuditQuery = z.object({
  actor: z.string().optional(),
  action: z.string().optional(),
  target: z.string().optional(),
});
export type AuditQuery = z.infer<typeof AuditQuery>;
