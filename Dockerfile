# syntax=docker/dockerfile:1
#
# TPS Reference System: the service image.
#   docker build -t tps-reference-system .
#   docker run --rm -p 8080:8080 -p 9090:9090 tps-reference-system
# The whole stack (brokers, Prometheus, Grafana, Jaeger, Loki): docker compose up -d

# A Debian-based Node.js 24 image: the build stage installs a C compiler with apt-get.
ARG NODE_IMAGE=node:24-bookworm-slim

# --- build: every dependency, then TypeScript → dist/ -------------------------------------------
FROM ${NODE_IMAGE} AS build
# A C compiler for the optional malloc-trim addon (native/malloc-trim.c), which npm ci builds.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY native ./native
# The devDependencies include the TypeScript compiler and a pinned Node.js 24 (the `node` package),
# which npm scripts put first on PATH; both are needed for the build only.
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY cli ./cli
COPY bench/bare-server.ts ./bench/bare-server.ts
RUN npm run build && node native/build.mjs --require

# --- runtime: production dependencies and the compiled service, as a non-root user -------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HTTP_PORT=8080 \
    METRICS_PORT=9090
WORKDIR /app
COPY package.json package-lock.json ./
# No production dependency has an install script; --ignore-scripts keeps it that way.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
    && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY --from=build /app/build ./build
# Files stay owned by root (read-only to the service); the process runs as the image's `node` user.
USER node
EXPOSE 8080 9090
# Slim images have no curl: Node's built-in fetch asks /health (200 healthy, 503 not, e.g. draining).
# With SSL_ENABLED=true the API speaks HTTPS: override this check (docker run --health-cmd, compose).
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.HTTP_PORT||8080)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# On SIGTERM the service stops intake and drains for up to TPS_SHUTDOWN_TIMEOUT (30 s): give
# `docker stop` more than that (compose sets stop_grace_period).
STOPSIGNAL SIGTERM
# What `npm start` runs (package.json), without its prestart build: the image's own Node.js 24.
CMD ["node", "--max-semi-space-size=16", "--expose-gc", "dist/src/main.js"]
