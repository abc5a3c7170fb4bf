# tollgate: Envoy ext_authz sidecar. Two stages: build with dev dependencies, run without.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY proto ./proto
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY proto ./proto
COPY examples ./examples
COPY package.json ./
USER node
EXPOSE 9191
# A sidecar shares its pod's memory budget: cap the V8 heap well under the container limit.
ENTRYPOINT ["node", "--max-old-space-size=96", "dist/cli/main.js"]
CMD ["serve", "--config", "/etc/tollgate/tollgate.yaml"]
