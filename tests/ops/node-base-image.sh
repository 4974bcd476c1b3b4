#!/usr/bin/env bash
# Makes a Node base image from this machine, for building Fraisier's Dockerfile where no image
# registry is reachable: the node binary running the tests and the libraries it links, npm,
# busybox as the shell and tools (npm's scripts and the Dockerfile's RUN need /bin/sh), a
# `node` user (uid 1000, as in the official images), this machine's CA bundle (npm reaches its
# registry through whatever TLS proxy this machine trusts) and a prebuilt better-sqlite3 for
# this Node (npm's offline mirror mechanism, local prebuilds: nothing to compile in the image).
#
# usage: node-base-image.sh TAG   (the image is imported with `docker import`)
set -euo pipefail
tag=${1:?usage: node-base-image.sh TAG}
node=$(readlink -f "$(command -v node)")
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
busybox=$(command -v busybox) || { echo "node-base-image: busybox is needed (apt-get install busybox-static)" >&2; exit 1; }
here=$(cd "$(dirname "$0")/../.." && pwd)
sqlite=$here/node_modules/better-sqlite3
sqlite_version=$(node -p "require('$sqlite/package.json').version")
abi=$(node -p 'process.versions.modules')

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
chmod 755 "$root" # mktemp made it 0700: it becomes the image's /
mkdir -p "$root"/{bin,usr/bin,usr/local/bin,usr/local/lib/node_modules,etc/ssl/certs,tmp,root,home/node,prebuilds}
chmod 1777 "$root/tmp"

cp "$node" "$root/usr/local/bin/node"
# The libraries node links (ldd's "name => path" lines, and the loader).
for lib in $(ldd "$node" | grep -o '/[^ ]*'); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"

cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
ln -s /bin/env "$root/usr/bin/env"

printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\nnode:x:1000:\n' >"$root/etc/group"
chown 1000:1000 "$root/home/node"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"

tar czf "$root/prebuilds/better-sqlite3-v$sqlite_version-node-v$abi-linux-x64.tar.gz" -C "$sqlite" build/Release/better_sqlite3.node

tar -C "$root" --numeric-owner -cf - . | docker import \
  --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
  --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  --change 'ENV npm_config_cafile=/etc/ssl/certs/ca-certificates.crt' \
  --change 'ENV npm_config_better_sqlite3_local_prebuilds=/prebuilds' \
  --change 'CMD ["node"]' \
  - "$tag" >/dev/null
echo "$tag"
