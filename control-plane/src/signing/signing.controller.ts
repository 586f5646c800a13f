import { Controller, Get, HttpCode, HttpStatus, Post } from '@nestjs/common';
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
}
