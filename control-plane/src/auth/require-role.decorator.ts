import { SetMetadata } from '@nestjs/common';
import type { OperatorRole } from '@flotilla/shared';

export const REQUIRED_ROLE = 'flotilla:required-role';

/** Raises the role a route needs above the default (viewer for reads, operator for changes). */
export const RequireRole = (role: OperatorRole): MethodDecorator & ClassDecorator => SetMetadata(REQUIRED_ROLE, role);
