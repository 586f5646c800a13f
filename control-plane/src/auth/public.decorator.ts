import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'flotilla:public';

/** Opens a route to callers without the operator key (device registration, health checks). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC, true);
