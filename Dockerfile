# Quartermaster: one image for every service. The SERVICES variable picks which services a
# container runs (see docker-compose.yml and k8s/), so the same build serves all ten.
#
#   docker build -t quartermaster:latest .
#   docker run --rm -e SERVICES=gateway -e TRANSPORTER=nats://... -e MONGO_URI=... quartermaster:latest

# ---- stage 1: compile TypeScript -------------------------------------------------------------
FROM node:22-bookworm-slim AS build
WORKDIR /app

# Manifests first so the dependency layer stays cached while only sources change.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

COPY . .
# tsc writes to dist/ (dist/bin/qm.js is the entry point). public/ is optional in the source
# tree; creating it here lets the runtime stage copy it unconditionally.
RUN npm run build && mkdir -p public

# ---- stage 2: runtime ------------------------------------------------------------------------
FROM node:22-bookworm-slim AS runtime
WORKDIR /app
# HEALTH_PORT: the port of the /health and /ready server; the HEALTHCHECK below reads it too.
ENV NODE_ENV=production \
    HEALTH_PORT=8081

# Production dependencies only: no compiler, no test tooling in the final image.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY --from=build /app/dist ./dist
COPY --from=build /app/public ./public

# Embedded mode (no MONGO_URI, e.g. a plain `docker run -p 3000:3000 quartermaster`) keeps its
# NeDB files in ./data: the one directory the app user may write. Distributed mode never uses it.
RUN mkdir -p data && chown 1000:1000 data

# The files stay owned by root and are only readable by the app user, which suits Kubernetes'
# readOnlyRootFilesystem. 1000:1000 is the image's `node` user; the numeric form lets Kubernetes
# verify runAsNonRoot (it refuses to start a pod whose image user is a name it cannot check).
USER 1000:1000

# 3000: HTTP API (gateway only). 8081: health/readiness (every service).
EXPOSE 3000 8081

# node, not curl: the slim image has no curl or wget.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "require('http').get('http://127.0.0.1:'+(process.env.HEALTH_PORT||8081)+'/health',{timeout:4000},r=>process.exit(r.statusCode===200?0:1)).on('timeout',()=>process.exit(1)).on('error',()=>process.exit(1))"]

# node directly, not `npm start`: signals (SIGTERM on stop) reach the process, so Moleculer can
# shut down gracefully, and npm does not need a writable home directory.
CMD ["node", "dist/bin/qm.js"]
