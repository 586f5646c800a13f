import { requiredRole, roleSatisfies } from './roles';

describe('roles', () => {
  it('reads need viewer, changes need operator, unless a route declares more', () => {
    expect(requiredRole('GET', undefined)).toBe('viewer');
    expect(requiredRole('head', undefined)).toBe('viewer');
    for (const m of ['POST', 'PUT', 'PATCH', 'DELETE']) expect(requiredRole(m, undefined)).toBe('operator');
    expect(requiredRole('GET', 'admin')).toBe('admin');
  });

  it('ranks admin over operator over viewer', () => {
    expect(roleSatisfies('admin', 'operator')).toBe(true);
    expect(roleSatisfies('operator', 'operator')).toBe(true);
    expect(roleSatisfies('viewer', 'operator')).toBe(false);
    expect(roleSatisfies('operator', 'admin')).toBe(false);
    expect(roleSatisfies('viewer', 'viewer')).toBe(true);
  });
});
