import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import type { ModulesContainer } from '@nestjs/core';
import type { ApiRoute, PathParameterKind } from '@flotilla/shared';
import { IS_PUBLIC } from '../auth/public.decorator';
import { API_ROUTE } from '../http/api-endpoint.decorator';
import { PathParamPipe } from '../http/path-param';
import { ZodBodyPipe } from '../http/zod-body.pipe';

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
  for (const { controller, name, handler } of handlersOf(modules)) {
    const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod;
    const sub = Reflect.getMetadata(PATH_METADATA, handler) as string | string[];
    const isPublic = Reflect.getMetadata(IS_PUBLIC, controller) === true || Reflect.getMetadata(IS_PUBLIC, handler) === true;
    const kinds = declaredParamKinds(controller, name);
    for (const b of pathsOf(Reflect.getMetadata(PATH_METADATA, controller))) {
      for (const s of pathsOf(sub)) {
        const path = join(b, s);
        const params = Object.fromEntries([...path.matchAll(/:([A-Za-z0-9_]+)/g)].map(([, p]) => [p!, kinds.get(p!) ?? null]));
        routes.push({ method: RequestMethod[method].toLowerCase(), path, isPublic, params });
      }
    }
  }
  return routes;
}

interface Handler {
  controller: abstract new (...args: never[]) => unknown;
  name: string;
  handler: object;
}

/** Each request handler of each registered controller (a method with a route), once. */
function handlersOf(modules: ModulesContainer): Handler[] {
  const handlers: Handler[] = [];
  const seen = new Set<unknown>();
  for (const module of modules.values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as Handler['controller'] | null;
      if (!controller || seen.has(controller)) continue;
      seen.add(controller);
      const proto = controller.prototype as Record<string, unknown>;
      for (const name of Object.getOwnPropertyNames(proto)) {
        const handler = proto[name];
        if (name === 'constructor' || typeof handler !== 'function') continue;
        if (Reflect.getMetadata(METHOD_METADATA, handler) === undefined || Reflect.getMetadata(PATH_METADATA, handler) === undefined)
          continue;
        handlers.push({ controller, name, handler });
      }
    }
  }
  return handlers;
}

/** The route declarations the registered handlers are bound to (`@ApiEndpoint`): what the OpenAPI document describes. */
export function declaredRoutes(modules: ModulesContainer): ApiRoute[] {
  return handlersOf(modules).flatMap(({ handler }) => {
    const declared = Reflect.getMetadata(API_ROUTE, handler) as ApiRoute | undefined;
    return declared ? [declared] : [];
  });
}

/** For each bound route, the schemas its handler validates the request body with (`ZodBodyPipe`). */
export function validatedBodies(modules: ModulesContainer): { route: ApiRoute; schemas: unknown[] }[] {
  return handlersOf(modules).flatMap(({ controller, name, handler }) => {
    const route = Reflect.getMetadata(API_ROUTE, handler) as ApiRoute | undefined;
    if (!route) return [];
    const schemas = Object.values(argumentsOf(controller, name)).flatMap((arg) =>
      (arg.pipes ?? []).filter((p): p is ZodBodyPipe<unknown> => p instanceof ZodBodyPipe).map((p) => p.schema),
    );
    return [{ route, schemas }];
  });
}

/** Path parameters a handler reads through `@PathParam`, by name, from Nest's argument metadata. */
function declaredParamKinds(controller: object, handlerName: string): Map<string, PathParameterKind> {
  const args = argumentsOf(controller, handlerName);
  const kinds = new Map<string, PathParameterKind>();
  for (const arg of Object.values(args)) {
    const pipe = arg.pipes?.find((p): p is PathParamPipe => p instanceof PathParamPipe);
    if (pipe && typeof arg.data === 'string') kinds.set(arg.data, pipe.kind);
  }
  return kinds;
}

/** Nest's argument metadata of a handler: each parameter decorator's data and pipes. */
function argumentsOf(controller: object, handlerName: string): Record<string, { data?: unknown; pipes?: unknown[] }> {
  return (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, handlerName) ?? {}) as Record<string, { data?: unknown; pipes?: unknown[] }>;
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
