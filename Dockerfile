# Production image for the API and the worker (one image, two commands: `node dist/src/bin/api.js`,
# `node dist/src/bin/worker.js`; `node dist/src/bin/migrate.js latest` migrates).
# Stage 1: every dependency (dev ones too: TypeScript, the workflow bundler) to run `npm run build`.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src src
COPY workflows workflows
COPY activities activities
COPY migrations migrations
# The web studio: Vite builds web/ into web/dist, typed by the generated client's schema.
COPY clients clients
COPY web web
RUN npm run build

# Stage 2: production dependencies only (no tsx, no TypeScript), the build, and the system tools.
FROM node:24-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg espeak-ng postgresql-client ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist dist
COPY --from=build /app/web/dist web/dist
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000
# Writable by the app user; a named volume mounted here inherits this ownership.
RUN mkdir -p /backups /app/.data && chown node:node /backups /app/.data
USER node
EXPOSE 3000
CMD ["node", "dist/src/bin/api.js"]
