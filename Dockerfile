# One image per app, from one Dockerfile:
#
#   docker build --build-arg APP=ingress-api -t smsgw/ingress-api .
#
# APP is a folder of apps/: ingress-api, smpp-server, smsc-connector, callback-worker, scheduler,
# smsc-simulator, portal, or admin (the operator CLI; the compose file's `migrate` service runs the
# migrations and the seed from it). docker-compose.yml builds each of them.
#
# Works with the classic builder (no BuildKit syntax). Stages:
#   tools      the npm the repository pins (package.json "packageManager")
#   manifests  every package.json and the lockfile, so that `npm ci` is redone only when they change
#   build      `npm ci` and `turbo run build` of the apps. Nothing here depends on APP, so the
#              images of all apps share these layers: the workspace is installed and compiled
#              once, not once per app.
#   prod-all   `npm ci --omit=dev` of the whole workspace, shared by all images as well
#   pruned     `turbo prune @smsgw/$APP --docker`: the app and the workspace packages it depends on,
#              with their built dist (scripts/docker/assemble-runtime.js)
#   prod-deps  the pruned manifests and lockfile over prod-all, then `npm prune --omit=dev`: the
#              app's production dependencies only
#   runtime    node:24-bookworm-slim + that tree, as the unprivileged user `node`
#
# Base image: node:24-bookworm-slim (Docker Hub). Where Docker Hub cannot be reached,
# scripts/docker/build-base-images.sh builds a stand-in of that name from Debian packages.

FROM node:24-bookworm-slim AS tools
ENV NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false \
    TURBO_TELEMETRY_DISABLED=1 \
    DO_NOT_TRACK=1 \
    CHECKPOINT_DISABLE=1 \
    PRISMA_HIDE_UPDATE_MESSAGE=1
WORKDIR /repo
COPY package.json ./
# The npm version the repository pins. npm 11 runs no dependency install scripts unless the root
# package.json approves them (allowScripts), exactly as on a developer's machine.
RUN npm install -g "$(node -p 'require("./package.json").packageManager')" && npm --version

FROM tools AS manifests
COPY . .
RUN mkdir /manifests \
 && find . -name node_modules -prune -o -name package.json -print | xargs cp --parents -t /manifests \
 && cp package-lock.json /manifests/

FROM tools AS build
COPY --from=manifests /manifests/ ./
RUN npm ci
# What the builds read: the workspaces and the root's configuration (turbo.json, tsconfig*.json).
COPY *.json ./
COPY packages/ packages/
COPY apps/ apps/
# The apps docker-compose.yml runs and what they depend on, built once for all their images (this
# stage does not depend on APP, so its layers are shared). packages/db's build runs `prisma
# generate` offline (scripts/generate.js points the CLI at a stub schema engine, which generate
# never runs), then tsc.
ARG BUILD_APPS="ingress-api smpp-server smsc-connector callback-worker scheduler smsc-simulator portal admin"
RUN npx turbo run build $(for app in $BUILD_APPS; do printf -- '--filter=@smsgw/%s ' "$app"; done) \
      --output-logs=errors-only

# Production dependencies of the whole workspace, installed once for all images (from the npm
# cache `build` filled; no APP here either).
FROM tools AS prod-all
COPY --from=build /root/.npm/_cacache /root/.npm/_cacache
COPY --from=manifests /manifests/ ./
RUN npm ci --omit=dev --prefer-offline

FROM build AS pruned
ARG APP
RUN test -n "$APP" || { echo 'build with --build-arg APP=<folder of apps/>' >&2; exit 1; }
# An APP outside BUILD_APPS is built here; for the others this is turbo's local cache replaying
# what the build stage did.
COPY scripts/docker/assemble-runtime.js /usr/local/lib/smsgw/
RUN npx turbo run build --filter="@smsgw/$APP" --output-logs=errors-only \
 && npx turbo prune "@smsgw/$APP" --docker --out-dir /pruned \
 && node /usr/local/lib/smsgw/assemble-runtime.js "$APP" /repo /pruned

# The app's production dependencies: the pruned manifests and lockfile over the installed whole,
# and `npm prune` removes what they do not need. The result is the tree `npm ci --omit=dev` of the
# pruned lockfile installs (same packages, same places), without extracting it again per app.
FROM prod-all AS prod-deps
COPY --from=pruned /pruned/ /pruned/
RUN for dir in apps/* packages/*; do [ -e "/pruned/json/$dir" ] || rm -rf "$dir"; done \
 && cp -a /pruned/json/. . \
 && npm prune --omit=dev --prefer-offline \
 && cp -a /pruned/full/. .

FROM node:24-bookworm-slim AS runtime
ARG APP
ENV NODE_ENV=production \
    SMSGW_APP=${APP}
WORKDIR /app
# Owned by root and not writable by the app's user: the apps write nothing there.
COPY --from=prod-deps /repo/ ./
COPY scripts/docker/healthcheck.js scripts/docker/migrate-and-seed.js /app/docker/
# The one place an app writes: the connector's journal of receipts and MO (CONNECTOR_JOURNAL_DIR),
# meant to be a volume; a volume mounted here starts with this owner.
RUN mkdir -p /var/lib/smsgw/journal && chown node:node /var/lib/smsgw/journal
WORKDIR /app/apps/${APP}
USER node
# Node itself is PID 1, started directly (no shell, no npm, no init): SIGTERM from `docker stop`
# reaches the app's own handler (Nest's enableShutdownHooks), which drains and exits. As PID 1,
# a signal the process has no handler for is ignored rather than fatal; every app handles
# SIGTERM and SIGINT, and none starts child processes that would need reaping.
# ENTRYPOINT is cleared so that nothing (such as the base image's docker-entrypoint.sh) sits in
# between.
ENTRYPOINT []
CMD ["node", "dist/main.js"]
STOPSIGNAL SIGTERM
# GET /health on the app's own port (the control API for the simulator); see healthcheck.js.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["node", "/app/docker/healthcheck.js"]
