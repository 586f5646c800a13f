import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import type { ModulesContainer } from '@nestjs/core';
import { IS_PUBLIC } from '../auth/public.decorator';

export interface RegisteredRoute {
  method: string;
  /** As express sees it, e.g. `/api/v1/rollouts/:id`. */
  path: string;
  isPublic: boolean;
}

/** Every route of every controller Nest registered, read from the controllers' metadata. */
export function registeredRoutes(modules: ModulesContainer): RegisteredRoute[] {
  const routes: RegisteredRoute[] = [];
  const seen = new Set<unknown>();
  for (const module of modules.values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as (abstract new (...args: never[]) => unknown) | null;
      if (!controller || seen.has(controller)) continue;
      seen.add(controller);
      const base = pathsOf(Reflect.getMetadata(PATH_METADATA, controller));
      const classPublic = Reflect.getMetadata(IS_PUBLIC, controller) === true;
      const proto = controller.prototype as Record<string, unknown>;
      for (const name of Object.getOwnPropertyNames(proto)) {
        const handler = proto[name];
        if (name === 'constructor' || typeof handler !== 'function') continue;
        const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
        const sub = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
        if (method === undefined || sub === undefined) continue;
        const isPublic = classPublic || Reflect.getMetadata(IS_PUBLIC, handler) === true;
        for (const b of base) {
          for (const s of pathsOf(sub)) routes.push({ method: RequestMethod[method].toLowerCase(), path: join(b, s), isPublic });
        }
      }
    }
  }
  return routes;
}

function pathsOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  return [typeof value === 'string' ? value : '/'];
}

function join(a: string, b: string): string {
  const path = `/${[a, b]
    .map((p) => p.replace(/^\/+|\/+$/g, ''))
    .filter(Boolean)
    .join('/')}`;
  return path;
}
