import { grantScopes, parseScopes } from './realm-scope';

describe('the token realm’s scopes', () => {
  it('reads repository scopes, merges those of one repository, and leaves out any other kind', () => {
    expect(parseScopes(['repository:team/web:pull,push', 'registry:catalog:*', 'repository:base:pull', 'nonsense'])).toEqual([
      { repository: 'team/web', actions: ['pull', 'push'] },
      { repository: 'base', actions: ['pull'] },
    ]);
  });

  it('grants what the role allows of what was asked: viewers pull, operators and admins also push, nobody deletes', () => {
    const asked = parseScopes(['repository:team/web:pull,push,delete', 'repository:base:pull', 'repository:team/web:*']);
    expect(grantScopes('viewer', asked)).toEqual([
      { repository: 'team/web', actions: ['pull'] },
      { repository: 'base', actions: ['pull'] },
    ]);
    expect(grantScopes('operator', asked)).toEqual([
      { repository: 'team/web', actions: ['pull', 'push'] },
      { repository: 'base', actions: ['pull'] },
    ]);
    expect(grantScopes('viewer', parseScopes(['repository:team/web:push']))).toEqual([]);
  });
});
