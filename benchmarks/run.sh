#!/usr/bin/env bash
# One command for every peer benchmark: creates each peer's venv if missing (exact versions), then runs them.
#   benchmarks/run.sh            # everything (tens of minutes: the peers are slow)
#   benchmarks/run.sh --quick    # a small subset of each
# PEERS=/other/dir overrides /work/peers.
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS=${PEERS:-/work/peers}
QUICK=0; [[ "${1:-}" == "--quick" ]] && QUICK=1

venv() {  # venv NAME PACKAGES...: create $PEERS/NAME with the given pinned packages if it is missing
  local dir="$PEERS/$1"; shift
  if [[ ! -x "$dir/bin/python" ]]; then
    python3 -m venv "$dir" && "$dir/bin/pip" install -q "$@"
  fi
}
venv scalesim scalesim==3.0.0 'numpy<2.4'
venv zigzag zigzag-dse==3.9.1 six   # zigzag-dse 3.9.1 imports six without declaring it
venv nn_dataflow nn-dataflow sympy==1.4

if (( QUICK )); then
  python3 benchmarks/bench_scalesim.py --dataflows os --layers 1 --peer "$PEERS/scalesim"
  python3 benchmarks/bench_zigzag.py --layers 2 --peer "$PEERS/zigzag"
  python3 benchmarks/bench_nn_dataflow.py --no-free --budget 4000 --peer "$PEERS/nn_dataflow"
else
  python3 benchmarks/bench_scalesim.py --peer "$PEERS/scalesim"
  python3 benchmarks/bench_zigzag.py --peer "$PEERS/zigzag"
  python3 benchmarks/bench_nn_dataflow.py --peer "$PEERS/nn_dataflow"
fi
