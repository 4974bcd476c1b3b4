import { can, type Principal, principalName, scopeLimits } from '../src/auth/principal.js';
import { SCOPES } from '../src/config/types.js';
import { builder } from './builder.js';

/*
 * Who is asking, as the server sees the request's credentials: what a client (the dashboard)
 * offers follows from it, rather than from probing operations. Contract addition: viewer.
 */

interface Viewer {
  principal: Principal;
}

const ViewerRef = builder.objectRef<Viewer>('Viewer').implement({
  description: 'The caller: its token\'s name, what it may do, and where',
  fields: (t) => ({
    name: t.string({ description: 'The token\'s name ("local" on an open API)', resolve: (v) => principalName(v.principal) }),
    scopes: t.stringList({
      description: 'Scopes the caller holds (read, deploy, approve, admin), implied ones included',
      resolve: (v) => SCOPES.filter((scope) => can(v.principal, scope)),
    }),
    fraises: t.stringList({ nullable: true, description: 'The fraises it is limited to (null: every fraise)', resolve: (v) => listOf(scopeLimits(v.principal).fraises) }),
    environments: t.stringList({ nullable: true, description: 'The environments it is limited to (null: every environment)', resolve: (v) => listOf(scopeLimits(v.principal).environments) }),
  }),
});

function listOf(values: ReadonlySet<string> | undefined): string[] | null {
  return values ? [...values].sort() : null;
}

builder.queryFields((t) => ({
  viewer: t.field({
    type: ViewerRef,
    description: 'Who the request\'s credentials name, and what they allow. Needs the read scope.',
    resolve: (_root, _args, ctx) => ({ principal: ctx.principal }),
  }),
}));
