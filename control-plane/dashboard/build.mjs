// Builds the dashboard into dist/: index.html, assets/app-<hash>.js and .css. One esbuild call:
// the app is small and esbuild is already a dependency of the control plane.
import { build } from 'esbuild';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');
await rm(dist, { recursive: true, force: true });
await mkdir(join(dist, 'assets'), { recursive: true });
const result = await build({
  entryPoints: { app: join(here, 'src', 'main.tsx') },
  bundle: true,
  minify: true,
  sourcemap: true,
  format: 'esm',
  target: 'es2022',
  jsx: 'automatic',
  outdir: join(dist, 'assets'),
  entryNames: '[name]-[hash]',
  metafile: true,
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
});
const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
const js = outputs.find((f) => f.endsWith('.js'));
const css = outputs.find((f) => f.endsWith('.css'));
const html = (await readFile(join(here, 'index.html'), 'utf8'))
  .replace('%CSS%', css ? `<link rel="stylesheet" href="/assets/${css}">` : '')
  .replace('%JS%', `<script type="module" src="/assets/${js}"></script>`);
await writeFile(join(dist, 'index.html'), html);
console.log(`dashboard: ${outputs.filter((f) => !f.endsWith('.map')).join(', ')}`);
