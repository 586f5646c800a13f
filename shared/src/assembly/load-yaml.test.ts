import { UNSTORABLE_TEXT_MESSAGE } from '../api/unstorable';
import { loadYaml, MAX_MANIFEST_BYTES, MANIFEST_YAML_LIMITS } from './load-yaml';

/** A manifest whose one service has `n` environment keys: about 16 bytes a key. */
function manyKeys(n: number): string {
  const lines = Array.from({ length: n }, (_, i) => `      KEY_${i}: v\n`);
  return `name: many\nx-flotilla: { version: 1.0.0 }\nservices:\n  web:\n    image: web:1\n    environment:\n${lines.join('')}`;
}

function issuesOf(text: string, limits = {}) {
  const r = loadYaml(text, limits);
  if (r.ok) throw new Error('expected the document to be refused');
  return r.issues;
}

describe('loadYaml', () => {
  it('loads a document with anchors and aliases within the limits', () => {
    expect(loadYaml('common: &env { A: "1" }\nweb: { environment: *env }\n')).toEqual({
      ok: true,
      value: { common: { A: '1' }, web: { environment: { A: '1' } } },
    });
  });

  it('refuses a duplicate key with its path and both lines, also when one is quoted', () => {
    expect(issuesOf('services:\n  web:\n    environment:\n      A: 1\n      B: 2\n      "A": 3\n    image: x\n')).toEqual([
      { path: 'services.web.environment.A', message: 'duplicate key "A" (line 6, first at line 4)' },
    ]);
    // `1` and `"1"` become the same property of the parsed object.
    expect(issuesOf('ports: { 1: a, "1": b }\n')).toEqual([{ path: 'ports.1', message: 'duplicate key "1" (line 1, first at line 1)' }]);
  });

  it('refuses keys that are lists or maps', () => {
    expect(issuesOf('? [a, b]\n: 1\n')).toEqual([{ path: '', message: 'a key must be a plain string or number' }]);
  });

  it('answers a 1 MB manifest of 50,000 keys with a size issue, not a parse', () => {
    const text = manyKeys(50_000);
    expect(text.length).toBeGreaterThan(MAX_MANIFEST_BYTES);
    expect(issuesOf(text)).toEqual([{ path: '', message: `the document is larger than ${MAX_MANIFEST_BYTES} bytes` }]);
  });

  it('refuses more entries than the limit even when the bytes fit', () => {
    const text = manyKeys(MANIFEST_YAML_LIMITS.maxEntries + 1);
    expect(text.length).toBeLessThan(MAX_MANIFEST_BYTES);
    expect(issuesOf(text)).toEqual([{ path: '', message: `more than ${MANIFEST_YAML_LIMITS.maxEntries} keys and list items` }]);
  });

  it('finds a duplicate among 50,000 keys when the limits allow that many', () => {
    const text = `${manyKeys(50_000)}      KEY_7: again\n`;
    expect(issuesOf(text, { maxBytes: 2 ** 20, maxEntries: 100_000 })).toEqual([
      { path: 'services.web.environment.KEY_7', message: 'duplicate key "KEY_7" (line 50007, first at line 14)' },
    ]);
  });

  it('refuses nested aliases that expand past the count (billion laughs) with a 400-worthy issue', () => {
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (const [prev, name] of [...'abcdefg'].slice(0, -1).map((c, i) => [c, 'bcdefg'[i]!])) {
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    expect(issuesOf(levels.join('\n'))).toEqual([
      {
        path: '',
        message: 'YAML alias expansion refused: aliases nested in aliases would repeat values more than 100 times (an alias bomb)',
      },
    ]);
  });

  it('refuses one wide anchor repeated by aliases past the entry limit', () => {
    const wide = Array.from({ length: 2_000 }, (_, i) => `k${i}: 1`).join(', ');
    const text = `a: &a { ${wide} }\nb: [${Array(10).fill('*a').join(', ')}]\n`;
    expect(issuesOf(text)[0]!.message).toMatch(/^more than 10000 keys and list items once YAML aliases are expanded/);
  });

  it('refuses more aliases than the limit, at the first one past it', () => {
    const text = `a: &a 1\nb: [${Array(101).fill('*a').join(', ')}]\n`;
    expect(issuesOf(text)).toEqual([{ path: 'b.100', message: 'more than 100 YAML aliases (*name); write the values out' }]);
  });

  it('refuses an alias that names no anchor', () => {
    expect(issuesOf('a: *nope\n')[0]!.message).toMatch(/^YAML alias: Unresolved alias/);
  });

  it('refuses deep nesting with the path where it passes the limit', () => {
    const blocks = Array.from({ length: 40 }, (_, i) => `${' '.repeat(i + 1)}- \n`).join('');
    const [issue] = issuesOf(`a:\n${blocks}`);
    expect(issue).toEqual({ path: ['a', ...Array(31).fill(0)].join('.'), message: 'nested deeper than 32 levels' });
  });

  it('refuses flow nesting too deep for the parser as an issue, not a thrown stack overflow', () => {
    expect(issuesOf(`a: ${'['.repeat(50_000)}${']'.repeat(50_000)}\n`)[0]!.message).toMatch(
      // Which one depends on the stack size Node runs with; either way it is an issue, not a throw.
      /^(YAML: nested too deeply to parse \(line 1\)|nested deeper than 32 levels)$/,
    );
  });

  it('refuses NUL characters, raw or escaped, and unpaired surrogates, which PostgreSQL cannot store as they are', () => {
    expect(issuesOf('a: "x\\0y"\n')).toEqual([{ path: 'a', message: UNSTORABLE_TEXT_MESSAGE }]);
    expect(issuesOf('a: { b: "x\\ud800" }\n')).toEqual([{ path: 'a.b', message: UNSTORABLE_TEXT_MESSAGE }]);
    expect(issuesOf('"\\udfffk": 1\n')).toEqual([{ path: '\udfffk', message: UNSTORABLE_TEXT_MESSAGE }]);
    expect(loadYaml('a: "\\ud83d\\ude80"\n')).toEqual({ ok: true, value: { a: '\u{1F680}' } });
    expect(issuesOf('a: x\0y\n')[0]!.message).toBe('the document holds a NUL character, which cannot be stored');
  });

  it('reports syntax errors with their line', () => {
    expect(issuesOf('a: 1\nb: "unclosed\nc: 2\n')[0]!.message).toMatch(/^YAML: .*\(line \d\)$/);
  });
});
