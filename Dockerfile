# One image definition for every service; the APP build argument picks the one it starts.
#   docker build --build-arg APP=api -t molecule-api .
# APP is one of: api, registry, provisioner, edge-router, workspace-agent (the tenant host and
# reference runtime image, TENANT_IMAGE). See docs/operations.md.

FROM node:20-bookworm-slim AS base
WORKDIR /app

# All dependencies, including the dev ones the build needs. Only the manifests are copied, so
# this layer is rebuilt only when they change.
FROM base AS deps
COPY package.json package-lock.json ./
# --ignore-scripts: no dependency needs its install script (native binaries come as prebuilt
# optional packages), and the build then runs no third-party install code.
RUN npm ci --ignore-scripts --no-audit --no-fund

# Compile with tsc, then drop the dev dependencies from node_modules.
FROM deps AS build
COPY . .
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM base AS runtime
# The AWS SDK warns about Node 20 support on every client; its version is pinned on purpose.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
# The files stay owned by root: the service user can read them but not change them.
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/scripts/paths.cjs ./scripts/paths.cjs
# The services read their version from it.
COPY --from=build /app/package.json ./package.json
USER node

EXPOSE 3000 3001 3002 8080

# Liveness only: /healthz consults no dependency. There is no curl in the slim image, so node's
# fetch calls the port of the service this container runs.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD node -e "const d={api:['API_PORT',3000,'/healthz'],registry:['REGISTRY_PORT',3001,'/healthz'],provisioner:['PROVISIONER_PORT',3002,'/healthz'],'edge-router':['EDGE_ROUTER_PORT',8080,'/healthz'],'workspace-agent':['PORT',8080,'/health']}[process.env.APP];if(!d)process.exit(1);fetch('http://127.0.0.1:'+(process.env[d[0]]||d[1])+d[2]).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"

# Last, so that the layers above are shared by the images of all services.
ARG APP
ENV APP=${APP}
# Extra node flags (the edge router's compose service sets its GC flags; see
# docs/operations.md).
ENV NODE_FLAGS=

# Shell form, so that ${APP} is expanded when the container starts. exec replaces the shell with
# node, so node itself receives SIGTERM and shuts down cleanly.
CMD exec node ${NODE_FLAGS} -r ./scripts/paths.cjs dist/apps/${APP}/src/main.js
