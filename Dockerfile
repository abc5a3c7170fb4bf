# tollgate: Envoy ext_authz sidecar. Two stages: build with dev dependencies, run without.
# The runtime image holds no example configuration and no demo key: mount your own
# configuration at /etc/tollgate/tollgate.yaml (key files it names resolve against /etc/tollgate).
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
COPY proto ./proto
# Only for the build: it starts tollgate once on the example to write V8's code cache.
COPY examples ./examples
RUN npm ci --no-audit --no-fund && npm prune --omit=dev
# V8 takes a code cache only under the flags it was written with: write it again under the
# ENTRYPOINT's.
RUN node --max-old-space-size=96 --max-semi-space-size=8 scripts/write-code-cache.mjs

FROM node:22-bookworm-slim
ENV NODE_ENV=production
# glibc gives each thread (V8's GC helpers, libuv's pool writing the logs) its own malloc arena,
# which inflates a small process's resident memory. Two arenas are plenty.
ENV MALLOC_ARENA_MAX=2
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY proto ./proto
COPY package.json ./
USER node
# A sidecar shares its pod's memory: cap V8's old space well under the container's limit
# (see docs/performance.md). Change these flags and the build stage's together, or V8 refuses
# the code cache and start-up is slower. tollgate listens where its configuration says,
# usually loopback.
ENTRYPOINT ["node", "--max-old-space-size=96", "--max-semi-space-size=8", "dist/cli/launch.js"]
CMD ["serve", "--config", "/etc/tollgate/tollgate.yaml"]
