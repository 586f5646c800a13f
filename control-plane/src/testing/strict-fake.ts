/**
 * A stand-in for a dependency that implements only what a test stubs; calling anything else
 * fails the test, so a service cannot quietly start depending on an unstubbed method.
 */
export function strictFake<T extends object>(name: string, stubs: Partial<T>): T {
  return new Proxy(stubs as T, {
    get(target, property, receiver) {
      if (property in target || typeof property === 'symbol' || property === 'then') return Reflect.get(target, property, receiver);
      throw new Error(`${name}.${String(property)} was called but not stubbed`);
    },
  });
}
