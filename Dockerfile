# Production image for the API and the worker (one image, two commands).
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg espeak-ng postgresql-client ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000
# Writable by the app user; a named volume mounted here inherits this ownership.
RUN mkdir -p /backups /app/.data && chown node:node /backups /app/.data
USER node
EXPOSE 3000
CMD ["npm", "run", "api"]
