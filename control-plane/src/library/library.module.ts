import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ComponentEntity } from './component.entity';
import { ComponentRepository } from './component.repository';
import { LibraryController } from './library.controller';
import { LibraryService } from './library.service';
import { ComponentSeeder } from './seed-components';

@Module({
  imports: [TypeOrmModule.forFeature([ComponentEntity])],
  controllers: [LibraryController],
  providers: [ComponentRepository, LibraryService, ComponentSeeder],
  exports: [LibraryService, ComponentSeeder],
})
export class LibraryModule {}
