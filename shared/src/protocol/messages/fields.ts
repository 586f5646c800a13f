import { z } from 'zod';
import { TEXT_LIMITS, storableString, storableTimestamp } from '../storable';
import { PROTOCOL_SCHEMA } from './envelope';

/** The fields every message file shares; kept out of the package's entries (not protocol names of their own). */
export const schema = z.literal(PROTOCOL_SCHEMA);
export const timestamp = storableTimestamp();
// Uplink strings, by what they hold (storable.ts): every one bounded and storable in PostgreSQL.
export const name = storableString(TEXT_LIMITS.name);
export const ref = storableString(TEXT_LIMITS.ref);
export const text = storableString(TEXT_LIMITS.message);
