#!/usr/bin/env bash
# GPU against CPU training of ctgan, tvae and the first-party VAE (bench/ml_gpu.py), on a
# machine with an NVIDIA GPU, this repo and the wheels in .whl/ (SDV's stack and a protobuf
# as new as sdk/python/gen/ needs; torch, numpy, pandas and scikit-learn are expected there already).
# Run from the repo root: bash bench/ml_gpu.sh [bench/ml_gpu.py arguments]. Output goes to
# stdout and, when OUT is set, to $OUT/ml_gpu.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
site=/tmp/veilsync-site
if [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target "$site" .whl/*.whl
fi
export PYTHONPATH="$site:$PWD:$PWD/sdk/python/gen${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
python3 -c "import torch, sdv, ctgan; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'sdv', sdv.__version__, 'ctgan', ctgan.__version__)"
log=/dev/null
if [ -n "${OUT:-}" ]; then mkdir -p "$OUT"; log="$OUT/ml_gpu.txt"; fi
timeout 450 python3 -m bench.ml_gpu "$@" 2>&1 | tee "$log"
