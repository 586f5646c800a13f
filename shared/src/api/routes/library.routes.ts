import { ComponentView } from '../library';
import { named, route } from '../route';
import { Component, yaml } from './views';

/** The routes of `control-plane/src/library/library.controller.ts`. */
export const LIBRARY_ROUTES = {
  add: route({
    method: 'post',
    path: '/api/v1/components',
    tag: 'library',
    summary: 'Add a component version to the library',
    access: 'operator',
    body: yaml('the component manifest (YAML or JSON)'),
    status: 201,
    response: Component,
  }),
  list: route({
    method: 'get',
    path: '/api/v1/components',
    tag: 'library',
    summary: 'List components',
    access: 'viewer',
    status: 200,
    response: named('ComponentList', ComponentView.array()),
  }),
  versions: route({
    method: 'get',
    path: '/api/v1/components/:name',
    tag: 'library',
    summary: 'Versions of a component',
    access: 'viewer',
    status: 200,
    response: named('ComponentList', ComponentView.array()),
  }),
  get: route({
    method: 'get',
    path: '/api/v1/components/:name/:version',
    tag: 'library',
    summary: 'One component version',
    access: 'viewer',
    status: 200,
    response: Component,
  }),
};
