#!/usr/bin/env bash
# One command for every peer benchmark: creates each peer's venv if missing (exact versions), then runs them.
#   benchmarks/run.sh            # everything (tens of minutes: the peers are slow)
#   benchmarks/run.sh --quick    # a small subset of each
#   benchmarks/run.sh --setup-only [NAME...]   # only create the venvs (all, or the named ones: zigzag accelforge ...)
# PEERS=/other/dir overrides /work/peers.
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS=${PEERS:-/work/peers}
QUICK=0; SETUP_ONLY=0
case "${1:-}" in
  --quick) QUICK=1 ;;
  --setup-only) SETUP_ONLY=1; shift ;;
  "") ;;
  *) echo "usage: benchmarks/run.sh [--quick | --setup-only [NAME...]]" >&2; exit 2 ;;
esac
ONLY=("$@")  # with --setup-only: the venvs to create (none named: all)

PY312=${PY312:-$HOME/.pyenv/versions/3.12.1/bin/python}  # AccelForge and Stream want Python 3.12
wanted() {  # wanted NAME: is NAME among the venvs to create (every one unless --setup-only named some)?
  (( SETUP_ONLY )) && (( ${#ONLY[@]} )) || return 0
  local n; for n in "${ONLY[@]}"; do [[ "$n" == "$1" ]] && return 0; done; return 1
}
venv() {  # venv NAME PACKAGES...: create $PEERS/NAME with the given pinned packages if it is missing
  local dir="$PEERS/$1"; wanted "$1" || return 0; shift
  if [[ ! -x "$dir/bin/python" ]]; then
    # a failed install removes the venv, so the next run retries instead of skipping a half-built one
    { ${VENV_PY:-python3} -m venv "$dir" && nice -n 10 "$dir/bin/pip" install -q "$@"; } || { rm -rf "$dir"; return 1; }
  fi
}
venv scalesim scalesim==3.0.0 'numpy<2.4'
venv zigzag zigzag-dse==3.9.1 six   # zigzag-dse 3.9.1 imports six without declaring it
venv nn_dataflow nn-dataflow sympy==1.4
VENV_PY=$PY312 venv accelforge accelforge==1.0.467 hwcomponents==1.0.114 hwcomponents-cacti==1.0.40
# hwcomponents-cacti ships a CACTI binary built for glibc >= 2.38; rebuild it from its shipped source if it
# cannot run here (AccelForge's Eyeriss and Simba examples price their SRAMs with it)
if wanted accelforge; then
CACTI=$("$PEERS/accelforge/bin/python" -c 'import hwcomponents_cacti, os; print(os.path.dirname(hwcomponents_cacti.__file__))')/cacti
# (its output is captured first: under pipefail, `./cacti | grep -q` takes cacti's failing exit status and never rebuilt)
CACTI_OUT=$(cd "$CACTI" && ./cacti 2>&1 || true)
if grep -q "version .GLIBC" <<<"$CACTI_OUT"; then
  (cd "$CACTI" && rm -rf obj_dbg obj_opt && nice -n 10 make -s opt -j2 && cp obj_opt/cacti ./cacti)
fi
fi
VENV_PY=$PY312 venv stream stream-dse==2.1.1 six==1.17.0   # zigzag-dse (a dependency) imports six undeclared
(( SETUP_ONLY )) && exit 0

if (( QUICK )); then
  python3 benchmarks/bench_scalesim.py --dataflows os --layers 1 --peer "$PEERS/scalesim"
  python3 benchmarks/bench_zigzag.py --layers 2 --peer "$PEERS/zigzag"
  python3 benchmarks/bench_nn_dataflow.py --no-free --budget 4000 --peer "$PEERS/nn_dataflow"
  python3 benchmarks/bench_accelforge.py --quick --peer "$PEERS/accelforge"
  python3 benchmarks/bench_stream.py --peer "$PEERS/stream"
  python3 benchmarks/bench_fused_peers.py --quick --accelforge-peer "$PEERS/accelforge" --stream-peer "$PEERS/stream"
else
  python3 benchmarks/bench_scalesim.py --peer "$PEERS/scalesim"
  python3 benchmarks/bench_zigzag.py --peer "$PEERS/zigzag"
  python3 benchmarks/bench_nn_dataflow.py --peer "$PEERS/nn_dataflow"
  python3 benchmarks/bench_accelforge.py --peer "$PEERS/accelforge"
  python3 benchmarks/bench_stream.py --peer "$PEERS/stream"
  python3 benchmarks/bench_fused_peers.py --accelforge-peer "$PEERS/accelforge" --stream-peer "$PEERS/stream"
fi
