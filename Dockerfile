# syntax=docker/dockerfile:1

# Build with dev dependencies (TypeScript), then keep production ones only.
FROM node:24-trixie-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

# Distroless on Debian 13: no shell, no package manager; "nonroot" is uid/gid 65532.
# Pin it by digest in your build (FROM gcr.io/distroless/nodejs24-debian13:nonroot@sha256:…)
# and deploy the pushed image by digest too (deploy/base/kustomization.yaml, images[].digest).
FROM gcr.io/distroless/nodejs24-debian13:nonroot
WORKDIR /app
ENV NODE_ENV=production \
    TRAVIS_ALLOWLIST_CONFIG=/etc/travis-allowlist/travis-allowlist.yaml
# Node's heap, sized for the 256 MiB memory limit of the manifests in deploy/. Left alone, V8
# sizes its heap from the container's memory (about 262 MB in 256 MiB) and grows it to two or
# three times what is alive before collecting. 160 MiB of old space and 3 x 2 MiB of young
# space, plus Node's own code and memory outside the heap (45-75 MiB: the binary, stacks,
# buffers, sockets) stay under 256 MiB: the largest feed accepted, 371,000 /32s, peaks at
# 210-236 MiB RSS. Raise it with the limit (docs/kubernetes.md, "Memory"); the manifests set
# the same value.
ENV NODE_OPTIONS="--max-old-space-size=160 --max-semi-space-size=2"
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Writes go only to the state volume and /tmp, so a read-only root file system works.
VOLUME ["/var/lib/travis-allowlist"]
USER 65532:65532
ENTRYPOINT ["/nodejs/bin/node", "/app/dist/cli/main.js"]
CMD ["sync"]
