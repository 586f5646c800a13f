import type { EntityManager } from 'typeorm';

declare const brand: unique symbol;

/**
 * An open transaction as services hold it: opaque, only handed back to repository methods so
 * that several of them write in one transaction (a rollout's decision and the devices it
 * assigns). Repositories alone see the EntityManager inside.
 */
export type UnitOfWork = { readonly [brand]: 'UnitOfWork' };

export function unitOfWork(em: EntityManager): UnitOfWork {
  return em as unknown as UnitOfWork;
}

export function managerOf(uow: UnitOfWork): EntityManager {
  return uow as unknown as EntityManager;
}
