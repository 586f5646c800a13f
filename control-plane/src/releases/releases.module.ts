import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ReleaseEntity } from './release.entity';
import { ReleaseRepository } from './release.repository';
import { ReleasesController } from './releases.controller';
import { ReleasesService } from './releases.service';

@Module({
  imports: [TypeOrmModule.forFeature([ReleaseEntity])],
  controllers: [ReleasesController],
  providers: [ReleaseRepository, ReleasesService],
  exports: [ReleasesService],
})
export class ReleasesModule {}
