// Unit tests use no files (test/README.md): inside the unit project every file-system call of
// the code under test throws, naming what it tried. Tests that need files are integration tests.
for (const name of ['fs', 'node:fs', 'fs/promises', 'node:fs/promises']) {
  jest.mock(name, () => {
    const real = jest.requireActual(name);
    const refuse = (fn) => () => {
      throw new Error(`unit tests use no files: fs.${fn} was called (make it an integration test, *.int.test.ts)`);
    };
    const fake = {};
    for (const [key, value] of Object.entries(real)) fake[key] = typeof value === 'function' && /^[a-z]/.test(key) ? refuse(key) : value;
    if (real.promises)
      fake.promises = Object.fromEntries(
        Object.entries(real.promises).map(([k, v]) => [k, typeof v === 'function' ? refuse(`promises.${k}`) : v]),
      );
    return fake;
  });
}
