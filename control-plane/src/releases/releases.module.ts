import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { LibraryModule } from '../library/library.module';
import { ReleaseEntity } from './release.entity';
import { ReleaseRepository } from './release.repository';
import { ReleasesController } from './releases.controller';
import { ReleasesService } from './releases.service';

/** Needs the global SigningModule. */
@Module({
  imports: [TypeOrmModule.forFeature([ReleaseEntity]), LibraryModule],
  controllers: [ReleasesController],
  providers: [ReleaseRepository, ReleasesService],
  exports: [ReleasesService],
})
export class ReleasesModule {}
