import { SIGNING_ROUTES } from '@flotilla/shared';
import { ApiEndpoint } from '../http/api-endpoint.decorator';
import { Controller } from '@nestjs/common';
import { PathParam } from '../http/path-param';
import type { SigningKeysView } from '@flotilla/shared';
import { SigningService } from './signing.service';

@Controller()
export class SigningController {
  constructor(private readonly signing: SigningService) {}

  /** Public keys only, oldest first. */
  @ApiEndpoint(SIGNING_ROUTES.list)
  list(): SigningKeysView {
    return this.signing.list();
  }

  @ApiEndpoint(SIGNING_ROUTES.rotate)
  rotate(): Promise<SigningKeysView> {
    return this.signing.rotate();
  }

  /** Admin only: a revocation cuts devices off a key for good. Audited like every change. */
  @ApiEndpoint(SIGNING_ROUTES.revoke)
  revoke(@PathParam('id', 'signingKeyId') id: string): Promise<SigningKeysView> {
    return this.signing.revoke(id);
  }
}
