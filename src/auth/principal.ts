import { createHash, timingSafeEqual } from 'node:crypto';
import type { Scope, TokenConfig } from '../config/types.js';
import { ForbiddenError, UnauthenticatedError } from '../errors.js';

/*
 * Who is asking. With no tokens configured the API is open (and the server only listens on
 * 127.0.0.1); otherwise a request carries `Authorization: Bearer <token>`. A webhook delivery is
 * its own principal: its signature was its credential, and it may only process webhooks.
 */
export type Principal =
  | { kind: 'open' }
  | { kind: 'anonymous' }
  | { kind: 'token'; token: TokenConfig }
  | { kind: 'webhook'; provider: string };

/** The principal for an Authorization header value (or its absence). Throws on a bad token. */
export function authenticate(authorization: string | null | undefined, tokens: readonly TokenConfig[]): Principal {
  if (tokens.length === 0) return { kind: 'open' };
  if (!authorization) return { kind: 'anonymous' };
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!match) throw new UnauthenticatedError('the Authorization header must be "Bearer <token>"');
  const token = findToken(match[1]!, tokens);
  if (!token) throw new UnauthenticatedError('invalid token');
  return { kind: 'token', token };
}

export function findToken(presented: string, tokens: readonly TokenConfig[]): TokenConfig | undefined {
  const digest = createHash('sha256').update(presented).digest();
  let found: TokenConfig | undefined;
  // Compare against every token in constant time: how long this takes says nothing of which matched.
  for (const token of tokens) {
    // An unavailable token (its ${VAR} unset) matches nothing; such a configuration never serves.
    if (token.sha256 === null) continue;
    if (timingSafeEqual(digest, Buffer.from(token.sha256, 'hex')) && !found) found = token;
  }
  return found;
}

export function principalName(principal: Principal): string {
  switch (principal.kind) {
    case 'open':
      return 'local';
    case 'anonymous':
      return 'anonymous';
    case 'token':
      return principal.token.name;
    case 'webhook':
      return `webhook:${principal.provider}`;
  }
}

/** May this principal act with `scope` (on this fraise / environment, when given)? */
export function can(principal: Principal, scope: Scope, fraise?: string, environment?: string): boolean {
  switch (principal.kind) {
    case 'open':
      return true;
    case 'anonymous':
      return false;
    case 'webhook':
      // A delivery queues what its push asks for; approving is a person's decision, never a push's.
      return scope !== 'admin' && scope !== 'approve';
    case 'token': {
      const { token } = principal;
      if (!token.scopes.has(scope)) return false;
      if (fraise !== undefined && token.fraises && !token.fraises.has(fraise)) return false;
      if (environment !== undefined && token.environments && !token.environments.has(environment)) return false;
      return true;
    }
  }
}

export function assertCan(principal: Principal, scope: Scope, fraise?: string, environment?: string): void {
  if (principal.kind === 'anonymous') throw new UnauthenticatedError();
  if (can(principal, scope, fraise, environment)) return;
  const what = fraise ? ` on ${fraise}${environment ? `/${environment}` : ''}` : '';
  throw new ForbiddenError(`token "${principalName(principal)}" lacks the ${scope} scope${what}`);
}

/** The fraises / environments a principal is limited to (undefined: all). */
export function scopeLimits(principal: Principal): { fraises?: ReadonlySet<string>; environments?: ReadonlySet<string> } {
  if (principal.kind !== 'token') return {};
  return {
    ...(principal.token.fraises ? { fraises: principal.token.fraises } : {}),
    ...(principal.token.environments ? { environments: principal.token.environments } : {}),
  };
}
