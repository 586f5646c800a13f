import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONTROL_PLANE_NODE_FLAGS } from '../../control-plane/src/node-flags';

// The control plane's node flags are written where it is started, as V8 takes them only on the
// command line: the image's CMD (which Compose, the HA stack and Kubernetes run) and `npm start`.
// This keeps both in step with the one list, and checks that this node accepts them (a flag it
// refuses would stop the container at start).
const root = join(__dirname, '..', '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const ENTRY = 'control-plane/dist/main.js';

describe('the control plane is started with CONTROL_PLANE_NODE_FLAGS', () => {
  it('by its image', () => {
    const cmd = /^CMD (\[.*\])$/m.exec(read('control-plane/Dockerfile'))?.[1];
    expect(cmd).toBeDefined();
    expect(JSON.parse(cmd!)).toEqual(['node', ...CONTROL_PLANE_NODE_FLAGS, ENTRY]);
  });

  it('by npm start', () => {
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.start).toMatch(new RegExp(`(^|&& )node ${CONTROL_PLANE_NODE_FLAGS.join(' ')} ${ENTRY}$`));
  });

  it('by a node that accepts them', () => {
    const out = execFileSync(process.execPath, [...CONTROL_PLANE_NODE_FLAGS, '-p', '"started"'], { encoding: 'utf8' });
    expect(out.trim()).toBe('started');
  });
});
