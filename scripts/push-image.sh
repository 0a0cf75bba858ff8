#!/usr/bin/env bash
# Builds and pushes the image for a release tag. Credentials come from
# encrypted CI variables and are never printed: no xtrace, password on stdin.
set -euo pipefail
set +x
: "${TRAVIS_TAG:?a release tag is required}"
: "${REGISTRY:?}" "${REGISTRY_USER:?}" "${REGISTRY_PASSWORD:?}"
image="${REGISTRY}/${IMAGE_NAME:-travis-allowlist}"
printf '%s' "$REGISTRY_PASSWORD" | docker login --username "$REGISTRY_USER" --password-stdin "$REGISTRY" >/dev/null
docker build --pull --tag "${image}:${TRAVIS_TAG}" .
docker push "${image}:${TRAVIS_TAG}"
docker logout "$REGISTRY" >/dev/null
