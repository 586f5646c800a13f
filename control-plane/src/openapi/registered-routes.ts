import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import type { ModulesContainer } from '@nestjs/core';
import type { PathParameterKind } from '@flotilla/shared';
import { IS_PUBLIC } from '../auth/public.decorator';
import { PathParamPipe } from '../http/path-param';

export interface RegisteredRoute {
  method: string;
  /** As express sees it, e.g. `/api/v1/rollouts/:id`. */
  path: string;
  isPublic: boolean;
  /** Each `:name` of the path and the kind its handler declares with `@PathParam`, or null when it declares none. */
  params: Record<string, PathParameterKind | null>;
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
        const kinds = declaredParamKinds(controller, name);
        for (const b of base) {
          for (const s of pathsOf(sub)) {
            const path = join(b, s);
            const params = Object.fromEntries([...path.matchAll(/:([A-Za-z0-9_]+)/g)].map(([, p]) => [p!, kinds.get(p!) ?? null]));
            routes.push({ method: RequestMethod[method].toLowerCase(), path, isPublic, params });
          }
        }
      }
    }
  }
  return routes;
}

/** Path parameters a handler reads through `@PathParam`, by name, from Nest's argument metadata. */
function declaredParamKinds(controller: object, handlerName: string): Map<string, PathParameterKind> {
  const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, handlerName) ?? {}) as Record<
    string,
    { data?: unknown; pipes?: unknown[] }
  >;
  const kinds = new Map<string, PathParameterKind>();
  for (const arg of Object.values(args)) {
    const pipe = arg.pipes?.find((p): p is PathParamPipe => p instanceof PathParamPipe);
    if (pipe && typeof arg.data === 'string') kinds.set(arg.data, pipe.kind);
  }
  return kinds;
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
