#!/usr/bin/env bash
# CI: SCALE-Sim 3.0.0 (the peer tool) in its own venv, so tests/systolic/test_peer.py compares against it
# instead of skipping. The test finds the venv at $SCALESIM_VENV (default /work/peers/scalesim) and runs
# $SCALESIM_VENV/bin/python benchmarks/scalesim_peer.py. SCALE-Sim needs numpy<2.4, hence its own venv.
# Idempotent: an existing venv that imports scalesim is kept. Usage: bash .ci/scalesim-venv.sh
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${SCALESIM_VENV:-/work/peers/scalesim}"
if "$VENV/bin/python" -c "import scalesim" 2>/dev/null; then
    echo "SCALE-Sim venv ready: $VENV"
    exit 0
fi
PY=""
for cand in python3.11 python3.12; do  # SCALE-Sim 3.0.0 is tested here on 3.11
    if command -v "$cand" >/dev/null && "$cand" -c "import venv" 2>/dev/null; then PY="$cand"; break; fi
done
if [ -z "$PY" ] && command -v pyenv >/dev/null; then
    for v in 3.11 3.12; do
        if root="$(pyenv prefix "$v" 2>/dev/null)"; then PY="$root/bin/python3"; break; fi
    done
fi
PY="${PY:-python3}"
mkdir -p "$(dirname "$VENV")"
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q "scalesim==3.0.0" "numpy<2.4"
"$VENV/bin/python" -c "import scalesim"
echo "SCALE-Sim venv ready: $VENV ($("$VENV/bin/python" --version))"
