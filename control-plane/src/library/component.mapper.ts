import type { ComponentView } from '@flotilla/shared';
import type { ComponentEntity } from './component.entity';

export function toComponentView(row: ComponentEntity): ComponentView {
  return {
    name: row.name,
    version: row.version,
    image: row.image,
    description: row.description,
    manifest: row.manifest,
    config: row.manifest.config,
    createdAt: row.createdAt.toISOString(),
    createdBy: row.createdBy,
  };
}
