#!/usr/bin/env bash
# Fetch the real workload models into the cache (ACCEL_CACHE, default ~/.cache/accel) through the
# project's own fetch step.  Idempotent; quick when cached.  Usage: bash scripts/fetch_models.sh VENV_DIR
set -euo pipefail
VENV=${1:-.venv}
for model in smollm2-135m minilm-l6; do
  "$VENV/bin/accel" workloads fetch "$model"
done
