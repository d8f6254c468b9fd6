#!/usr/bin/env bash
# Build and push Winnow's Dataflow image, then write the Flex Template spec that points at it.
#   PROJECT=my-project REGION=us-central1 BUCKET=my-bucket deploy/dataflow/build.sh
# Env: PROJECT, REGION, BUCKET (required); REPOSITORY (Artifact Registry Docker repo, default winnow);
#      TAG (default: git short sha, plus -dirty with uncommitted changes); IMAGE (default: built from those);
#      BUILDER=cloudbuild (default, nothing needed locally) | docker (local docker build + push).
# Prints IMAGE and the template path for launch.sh.
set -euo pipefail

die() { echo "build.sh: $*" >&2; exit 2; }
for v in PROJECT REGION BUCKET; do
  [[ -n "${!v:-}" ]] || die "set $v (e.g. PROJECT=my-project REGION=us-central1 BUCKET=my-bucket $0)"
done
[[ "$BUCKET" != gs://* ]] || die "BUCKET is a bucket name, without gs:// (got $BUCKET)"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
REPOSITORY="${REPOSITORY:-winnow}"
if [[ -z "${TAG:-}" ]]; then
  TAG="$(git rev-parse --short HEAD)"
  [[ -z "$(git status --porcelain)" ]] || TAG="$TAG-dirty"
fi
IMAGE="${IMAGE:-$REGION-docker.pkg.dev/$PROJECT/$REPOSITORY/winnow:$TAG}"
TEMPLATE="gs://$BUCKET/templates/winnow.json"

command -v gcloud >/dev/null || die "needs the gcloud CLI (https://cloud.google.com/sdk/docs/install)"
case "${BUILDER:-cloudbuild}" in
  cloudbuild)
    gcloud builds submit --project "$PROJECT" --config deploy/dataflow/cloudbuild.yaml \
      --substitutions "_IMAGE=$IMAGE" . ;;
  docker)
    command -v docker >/dev/null || die "BUILDER=docker needs docker"
    docker build -f deploy/dataflow/Dockerfile -t "$IMAGE" .
    docker push "$IMAGE" ;;
  *) die "BUILDER must be cloudbuild or docker (got $BUILDER)" ;;
esac

gcloud dataflow flex-template build "$TEMPLATE" \
  --project "$PROJECT" \
  --image "$IMAGE" \
  --sdk-language PYTHON \
  --metadata-file deploy/dataflow/metadata.json

echo "IMAGE=$IMAGE"
echo "TEMPLATE=$TEMPLATE"
