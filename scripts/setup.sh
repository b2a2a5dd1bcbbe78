#!/usr/bin/env bash
# Idempotent set-up on a fresh machine: virtual environment, the project with every extra (pinned by
# constraints.txt), Icarus Verilog when absent, and the model files through the project's fetch step.
# Quick when already done: each step checks before it works.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${ACCEL_VENV:-.venv}

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating virtual environment $VENV"
  "$PY" -m venv "$VENV"
fi
stamp="$VENV/.accel-install-stamp"
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing accel and its dependencies into $VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -c constraints.txt -e '.[all]'
  echo "$want" > "$stamp"
fi

if ! command -v iverilog >/dev/null 2>&1; then
  echo "setup: installing Icarus Verilog (apt-get install -y iverilog)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq iverilog
fi

# Headless Chromium renders report.html in the tests (every image must load); Debian's package, no download.
if ! command -v chromium-headless-shell >/dev/null 2>&1 && ! command -v chromium >/dev/null 2>&1; then
  echo "setup: installing headless Chromium (apt-get install -y chromium-headless-shell)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends chromium-headless-shell
fi

# The peer simulator SCALE-Sim 3.0.0, in its own environment (it needs numpy < 2.4), for cross-checks.
bash scripts/setup_scalesim.sh

# The real models (SmolLM2-135M, MiniLM-L6) through the project's own fetch step.
bash scripts/fetch_models.sh "$VENV"
echo "setup: done"
