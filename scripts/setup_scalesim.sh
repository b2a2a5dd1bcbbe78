#!/usr/bin/env bash
# Optional peer simulator for cross-checks: SCALE-Sim 3.0.0 in its own virtual environment (it needs
# numpy < 2.4, which the project venv does not have; REFERENCE.md section 5).  Idempotent: quick when done.
# Usage: bash scripts/setup_scalesim.sh [VENV_DIR]   (default .venv-scalesim; tests look there or at
# $ACCEL_SCALESIM_VENV).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${1:-${ACCEL_SCALESIM_VENV:-.venv-scalesim}}
stamp="$VENV/.scalesim-stamp"
want="scalesim==3.0.0 numpy<2.4"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && "$VENV/bin/python" -c "import scalesim" 2>/dev/null; then
  exit 0
fi
if [ ! -x "$VENV/bin/python" ]; then
  echo "setup_scalesim: creating $VENV"
  "$PY" -m venv "$VENV"
fi
echo "setup_scalesim: installing $want into $VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q "scalesim==3.0.0" "numpy<2.4"
"$VENV/bin/python" -c "import scalesim"
echo "$want" > "$stamp"
echo "setup_scalesim: done"
