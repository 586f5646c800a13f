import { route } from '../route';

/** The routes of `control-plane/src/registries/tokens/registry-token.controller.ts`. */
export const REGISTRY_TOKEN_ROUTES = {
  token: route({
    method: 'get',
    path: '/api/v1/registry-token',
    tag: 'registries',
    summary: "The token realm of the project's registry (for docker login, push, pull)",
    description:
      "Docker distribution's token endpoint: `?service=…&scope=repository:NAME:pull,push` (scope repeatable), with an operator key as the Basic password (any user name) or as Bearer. Answers `{token, access_token, expires_in, issued_at}` granting what the key's role allows of what was asked: viewers pull, operators and admins also push. Devices do not use it: their pull tokens come with their desired state.",
    access: 'public',
    status: 200,
    response: { mediaType: 'application/json', description: '`{ token, access_token, expires_in, issued_at }`' },
    errors: [
      { status: 401, description: 'no or an unknown operator key (with `WWW-Authenticate: Basic`)' },
      { status: 404, description: 'no token-issued registry has that service (code `registry_service_unknown`)' },
    ],
  }),
};
