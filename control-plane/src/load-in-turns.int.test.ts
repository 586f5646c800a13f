import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEPENDENCIES_IN_TURNS, loadInTurns } from './load-in-turns';

describe('loadInTurns', () => {
  it('runs `between` after each load, and the next load only once it is done', async () => {
    const order: string[] = [];
    const between = async (): Promise<void> => {
      order.push('between');
      await new Promise((r) => setTimeout(r, 1));
      order.push('between done');
    };
    await loadInTurns(['a', 'b'], (id) => order.push(`load ${id}`), between);
    expect(order).toEqual(['load a', 'between', 'between done', 'load b', 'between', 'between done']);
  });

  it('stops at a module that fails to load, with its error', async () => {
    const loaded: string[] = [];
    const load = (id: string): void => {
      if (id === 'missing') throw new Error(`Cannot find module '${id}'`);
      loaded.push(id);
    };
    await expect(loadInTurns(['a', 'missing', 'b'], load, () => Promise.resolve())).rejects.toThrow("Cannot find module 'missing'");
    expect(loaded).toEqual(['a']);
  });
});

describe('DEPENDENCIES_IN_TURNS', () => {
  it('names only dependencies of the control plane, reflect-metadata first (decorators read it as they load)', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(DEPENDENCIES_IN_TURNS.filter((id) => !(id in pkg.dependencies))).toEqual([]);
    expect(DEPENDENCIES_IN_TURNS[0]).toBe('reflect-metadata');
  });
});
