import { DOCS_PAGE } from './docs-page';

describe('DOCS_PAGE', () => {
  it('loads nothing from other hosts and its script parses', () => {
    expect(DOCS_PAGE).not.toMatch(/(src|href)="https?:/);
    const scripts = [...DOCS_PAGE.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
    expect(scripts).toHaveLength(1);
    // Parsing only: a syntax error would leave operators with an empty page.
    expect(() => new Function(scripts[0]!)).not.toThrow();
    expect(scripts[0]).toContain("fetch('/api/v1/openapi.json')");
  });
});
