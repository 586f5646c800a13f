import { Controller, Get, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { PathParam } from '../http/path-param';
import { RequireRole } from '../auth/require-role.decorator';
import type { SigningKeysView } from '@flotilla/shared';
import { SigningService } from './signing.service';

@Controller('api/v1/signing-keys')
export class SigningController {
  constructor(private readonly signing: SigningService) {}

  /** Public keys only, oldest first. */
  @Get()
  list(): SigningKeysView {
    return this.signing.list();
  }

  @Post('rotate')
  @HttpCode(HttpStatus.OK)
  rotate(): Promise<SigningKeysView> {
    return this.signing.rotate();
  }

  /** Admin only: a revocation cuts devices off a key for good. Audited like every change. */
  @Post(':id/revoke')
  @RequireRole('admin')
  @HttpCode(HttpStatus.OK)
  revoke(@PathParam('id', 'signingKeyId') id: string): Promise<SigningKeysView> {
    return this.signing.revoke(id);
  }
}
