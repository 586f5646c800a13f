import { z } from 'zod';

/**
 * A UUID in a request body or query. Any case is accepted (RFC 9562), and it is handed on in
 * lower case, as PostgreSQL prints it and as path parameters are: ids compared in code, written
 * to the audit trail or to a device are then one spelling of one id.
 */
export const RequestUuid = z
  .string()
  .uuid()
  .transform((id) => id.toLowerCase());
