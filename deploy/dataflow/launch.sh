#!/usr/bin/env bash
# Run Winnow on Dataflow with the image and template from build.sh.
#   deploy/dataflow/launch.sh direct    `winnow run --runner dataflow` from this checkout (pip install -e '.[gcs]').
#                                       This shell is the driver: it waits for the job, then writes
#                                       OUTPUT/manifest.json and the data card. Keep it alive (tmux, a small VM).
#   deploy/dataflow/launch.sh template  `gcloud dataflow flex-template run`: the job finalizes OUTPUT itself
#                                       as its last step (README, "Finalizing without a driver").
# Env, required: PROJECT REGION BUCKET (name, no gs://) IMAGE (printed by build.sh) OUTPUT (gs://...)
#      INPUT: comma-separated gs:// paths or globs (template mode: empty = the sample bundled in the image)
#      optional: CONFIG (gs:// or local YAML), OVERWRITE=true, MACHINE_TYPE (n2-standard-4), MAX_WORKERS (50),
#      JOB_NAME (winnow-<utc time>), RESOURCE_HINTS (e.g. min_ram=16GB), EXTRA (more Beam flags, direct mode)
set -euo pipefail

die() { echo "launch.sh: $*" >&2; exit 2; }
trim() { local s="$1"; s="${s#"${s%%[![:space:]]*}"}"; echo "${s%"${s##*[![:space:]]}"}"; }

MODE="${1:-}"
[[ "$MODE" == direct || "$MODE" == template ]] || die "usage: $0 direct|template (settings in env vars, see the header)"
for v in PROJECT REGION BUCKET IMAGE OUTPUT; do
  [[ -n "${!v:-}" ]] || die "set $v (see the header of $0)"
done
[[ "$BUCKET" != gs://* ]] || die "BUCKET is a bucket name, without gs:// (got $BUCKET)"
[[ "$OUTPUT" == gs://* ]] || die "OUTPUT must be a gs:// directory (Dataflow workers write it), got $OUTPUT"
INPUT="${INPUT:-}"
CONFIG="${CONFIG:-}"
MACHINE_TYPE="${MACHINE_TYPE:-n2-standard-4}"
MAX_WORKERS="${MAX_WORKERS:-50}"
JOB_NAME="${JOB_NAME:-winnow-$(date -u +%Y%m%d-%H%M%S)}"
[[ "$JOB_NAME" =~ ^[a-z]([-a-z0-9]*[a-z0-9])?$ ]] || die "JOB_NAME: lower case letters, digits, '-' (got $JOB_NAME)"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

if [[ "$MODE" == template ]]; then
  # ^~^ makes ~ the separator, so INPUT may hold commas (gcloud topic escaping)
  params="^~^output=$OUTPUT~sdk_container_image=$IMAGE"
  [[ -z "$INPUT" ]] || params+="~input=$INPUT"
  [[ -z "$CONFIG" ]] || params+="~config=$CONFIG"
  [[ -z "${OVERWRITE:-}" ]] || params+="~overwrite=$OVERWRITE"
  exec gcloud dataflow flex-template run "$JOB_NAME" \
    --project "$PROJECT" --region "$REGION" \
    --template-file-gcs-location "gs://$BUCKET/templates/winnow.json" \
    --staging-location "gs://$BUCKET/staging" --temp-location "gs://$BUCKET/tmp" \
    --worker-machine-type "$MACHINE_TYPE" --max-workers "$MAX_WORKERS" \
    ${RESOURCE_HINTS:+--additional-pipeline-options "resource_hints=$RESOURCE_HINTS"} \
    --parameters "$params"
fi

# direct: the local checkout submits the job; Beam 2.77.0 and Python 3.11 here must match the image.
WINNOW="${WINNOW:-$ROOT/.venv/bin/winnow}"
[[ -x "$WINNOW" ]] || die "no $WINNOW: run 'make setup' and '.venv/bin/pip install -e .[gcs]' (or set WINNOW)"
"$(dirname "$WINNOW")/python" -c "import google.cloud.storage" 2>/dev/null \
  || die "the venv lacks Beam's GCP extras: .venv/bin/pip install -e '.[gcs]'"
[[ -n "$INPUT" ]] || die "set INPUT (the bundled sample is a local path here, which Dataflow workers cannot read)"

args=(run --runner dataflow --output "$OUTPUT"
  --project="$PROJECT" --region="$REGION"
  --temp_location="gs://$BUCKET/tmp" --staging_location="gs://$BUCKET/staging"
  --sdk_container_image="$IMAGE" --job_name="$JOB_NAME"
  --machine_type="$MACHINE_TYPE" --max_num_workers="$MAX_WORKERS")
IFS=, read -r -a inputs <<< "$INPUT"
for i in "${inputs[@]}"; do
  i="$(trim "$i")"
  [[ -z "$i" ]] || args+=(--input "$i")
done
if [[ "$CONFIG" == gs://* ]]; then          # winnow run reads its config with open(): fetch it
  local_config="$(mktemp "${TMPDIR:-/tmp}/winnow-config-XXXXXX")"
  trap 'rm -f "$local_config"' EXIT
  gcloud storage cat "$CONFIG" > "$local_config"
  CONFIG="$local_config"
fi
[[ -z "$CONFIG" ]] || args+=(--config "$CONFIG")
[[ "${OVERWRITE:-false}" != true ]] || args+=(--overwrite)
[[ -z "${RESOURCE_HINTS:-}" ]] || args+=(--resource_hints="$RESOURCE_HINTS")
read -r -a extra <<< "${EXTRA:-}"
[[ ${#extra[@]} -eq 0 ]] || args+=("${extra[@]}")

echo "+ $WINNOW ${args[*]}" >&2
"$WINNOW" "${args[@]}"
