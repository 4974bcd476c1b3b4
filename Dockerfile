# Fraisier's image: `docker build -t fraisier .`, then
#   docker run -d -p 8080:8080 -v fraisier-data:/var/lib/fraisier \
#     -v ./fraises.yaml:/etc/fraisier/fraises.yaml:ro fraisier
# compose.yaml runs it with PostgreSQL. The configuration is read from /etc/fraisier/fraises.yaml
# (FRAISIER_CONFIG); the SQLite store lives on the /var/lib/fraisier volume unless
# FRAISIER_DATABASE_URL names another store.

# Any image with Node (24, the LTS line Fraisier is built for) and npm: an official node image,
# or a mirror of it where Docker Hub is out of reach.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Dependencies first, in a layer of their own that a change of the sources leaves cached.
# Scripts are skipped (prepare would build before the sources are here), then better-sqlite3
# fetches or compiles its native module.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs scripts/
COPY src src
COPY schema schema
COPY db db
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE}
# What deployments run: git fetches the code, ssh reaches remote hosts. Empty to add nothing
# (an image that already has them, or one without apt).
ARG RUNTIME_PACKAGES="git openssh-client ca-certificates"
RUN if [ -n "$RUNTIME_PACKAGES" ]; then \
      apt-get update && apt-get install -y --no-install-recommends $RUNTIME_PACKAGES && rm -rf /var/lib/apt/lists/*; \
    fi
WORKDIR /opt/fraisier
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY package.json fraises.example.yaml LICENSE ./
COPY bin/fraisier.js bin/
COPY compiled compiled
# The store's directory belongs to the user the server runs as (node, uid 1000, in the official
# images); the volume keeps it across containers.
RUN mkdir -p /var/lib/fraisier /etc/fraisier && chown node:node /var/lib/fraisier
VOLUME /var/lib/fraisier
ENV NODE_ENV=production \
    FRAISIER_CONFIG=/etc/fraisier/fraises.yaml \
    FRAISIER_DATABASE_URL=sqlite:/var/lib/fraisier/fraisier.db \
    FRAISIER_HOST=0.0.0.0 \
    FRAISIER_PORT=8080
USER node
EXPOSE 8080
# No curl in the image: Node asks /health itself.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.FRAISIER_PORT || 8080) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/opt/fraisier/bin/fraisier.js"]
CMD ["serve"]
