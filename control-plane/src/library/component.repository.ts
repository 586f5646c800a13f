import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { ComponentEntity } from './component.entity';

export type NewComponent = Omit<ComponentEntity, 'createdAt'>;

export type InsertComponentOutcome = { inserted: true; component: ComponentEntity } | { inserted: false; existing: ComponentEntity };

/** The only code that reads or writes `components`. */
@Injectable()
export class ComponentRepository {
  constructor(@InjectRepository(ComponentEntity) private readonly components: Repository<ComponentEntity>) {}

  /** ON CONFLICT: of two concurrent uploads of one version exactly one inserts. */
  async insertUnlessVersionExists(component: NewComponent): Promise<InsertComponentOutcome> {
    const result = await this.components.createQueryBuilder().insert().values(component).orIgnore().returning('name').execute();
    const stored = await this.findVersion(component.name, component.version);
    if (!stored) throw new Error(`component ${component.name}@${component.version} conflicted but cannot be found`);
    return (result.raw as unknown[]).length > 0 ? { inserted: true, component: stored } : { inserted: false, existing: stored };
  }

  findVersion(name: string, version: string): Promise<ComponentEntity | null> {
    return this.components.findOneBy({ name, version });
  }

  /** The named versions that exist, in one query; missing ones are simply absent. */
  async findVersions(refs: readonly { name: string; version: string }[]): Promise<ComponentEntity[]> {
    if (refs.length === 0) return [];
    return this.components
      .createQueryBuilder('c')
      .where('(c.name, c.version) IN (SELECT * FROM unnest(CAST(:names AS text[]), CAST(:versions AS text[])))', {
        names: refs.map((r) => r.name),
        versions: refs.map((r) => r.version),
      })
      .getMany();
  }

  /** By name, then newest first. */
  listAll(name?: string): Promise<ComponentEntity[]> {
    return this.components.find({ where: name ? { name } : {}, order: { name: 'ASC', createdAt: 'DESC' } });
  }
}
