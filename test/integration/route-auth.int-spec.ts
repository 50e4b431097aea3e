import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { ModulesContainer } from '@nestjs/core';
import { AUTH_METADATA, type AuthRequirement } from '@molecule/auth';
import type { ServiceDefinition } from '@molecule/platform';
import { startTestService, type TestService } from '@molecule/testing';
import type { RouteOptions } from 'fastify';
import { apiService } from '../../apps/api/src/api.service-definition';
import { edgeRouterService } from '../../apps/edge-router/src/edge-router.service-definition';
import { provisionerService } from '../../apps/provisioner/src/provisioner.service-definition';
import { registryService } from '../../apps/registry/src/registry.service-definition';

/**
 * Every route of every service must declare who may call it (SPEC §5.5). Nest routes declare it
 * with an auth decorator; the only other routes are plugin routes, each of which must be on the
 * list below with the reason it is safe, and lean routes (below).
 */
const PLUGIN_ROUTES: { pattern: RegExp; why: string }[] = [
  { pattern: /^\/docs(-json|-yaml|\/.*)?$/, why: 'OpenAPI document and its UI: public by design' },
  { pattern: /^\/admin\/queues(\/.*)?$/, why: 'bull-board: gated by the platform admin hook' },
];

/**
 * Routes a service serves on Fastify directly, outside Nest's pipeline, because Nest's
 * per-request work would cost a multiple of what they do. Each declares its auth in its route
 * config (`config.auth`, the same requirements a Nest route's decorators declare) and has the
 * global auth guard decide with them (`AuthGuard.authorize`).
 */
const LEAN_ROUTES: { method: string; url: string; why: string }[] = [
  {
    method: 'POST',
    url: '/registry/heartbeat',
    why: 'the heartbeat hot path: a workspace session token (cached up to 60 s)',
  },
];
const isLean = (route: RouteOptions) =>
  LEAN_ROUTES.some((lean) => lean.url === route.url && lean.method === route.method);

interface NestRoute {
  controller: string;
  handler: string;
  path: string;
  declared: boolean;
}

function nestRoutes(service: TestService): NestRoute[] {
  const routes: NestRoute[] = [];
  for (const module of service.app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as (new () => object) | undefined;
      if (!controller) continue;
      const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
      const classAuth = Reflect.getMetadata(AUTH_METADATA, controller) as unknown[] | undefined;
      const prototype = controller.prototype as Record<string, unknown>;
      for (const name of Object.getOwnPropertyNames(prototype)) {
        const handler = prototype[name];
        if (
          typeof handler !== 'function' ||
          Reflect.getMetadata(METHOD_METADATA, handler) === undefined
        ) {
          continue;
        }
        const own = Reflect.getMetadata(AUTH_METADATA, handler) as unknown[] | undefined;
        const path = `/${[base, String(Reflect.getMetadata(PATH_METADATA, handler) ?? '')]
          .map((p) => p.replace(/^\/+|\/+$/g, ''))
          .filter(Boolean)
          .join('/')}`;
        routes.push({
          controller: controller.name,
          handler: name,
          path,
          declared: Boolean(own?.length || classAuth?.length),
        });
      }
    }
  }
  return routes;
}

const services: ServiceDefinition[] = [
  apiService,
  registryService,
  provisionerService,
  edgeRouterService,
];

describe.each(services.map((s) => [s.name, s] as const))('routes of %s', (_name, definition) => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService(definition);
  });

  afterAll(async () => {
    await service.close();
  });

  it('has routes to check', () => {
    expect(nestRoutes(service).length).toBeGreaterThan(0);
  });

  it('declares an auth rule on every Nest route', () => {
    const undeclared = nestRoutes(service).filter((route) => !route.declared);
    expect(undeclared.map((r) => `${r.controller}.${r.handler} ${r.path}`)).toEqual([]);
  });

  it('registers no other route than the known plugin routes', () => {
    const nestPaths = new Set(nestRoutes(service).map((r) => r.path));
    const unknown = service.routes
      .filter((route) => !isLean(route))
      .map((route) => route.url)
      .filter((url) => !nestPaths.has(url) && !PLUGIN_ROUTES.some((p) => p.pattern.test(url)));
    expect(unknown).toEqual([]);
  });

  it('declares an auth rule on every lean route, and answers 401 there without credentials', async () => {
    const lean = service.routes.filter(isLean);
    expect(lean.map((route) => `${String(route.method)} ${route.url}`)).toEqual(
      definition.name === 'registry' ? ['POST /registry/heartbeat'] : [],
    );
    for (const route of lean) {
      const auth: AuthRequirement[] = (route.config as { auth?: AuthRequirement[] }).auth ?? [];
      expect(auth.length).toBeGreaterThan(0);
      expect(auth.some((requirement) => requirement.kind === 'public')).toBe(false);
      const response = await service.app.inject({
        method: route.method as 'POST',
        url: route.url,
        payload: {},
      });
      expect(response.statusCode).toBe(401);
    }
  });

  it('answers 401 on every gated plugin route without credentials', async () => {
    const gated = service.routes.filter((route) => route.url.startsWith('/admin/queues'));
    expect(gated.length > 0).toBe(definition.name === 'api');
    for (const route of gated) {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      const url = route.url.replace(/:[A-Za-z]+/g, 'x').replace(/\*$/, 'x');
      for (const method of methods) {
        const response = await service.app.inject({ method: method as 'GET', url });
        expect({ method, url, status: response.statusCode }).toEqual({ method, url, status: 401 });
      }
    }
  });
});
