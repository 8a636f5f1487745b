#!/usr/bin/env bash
# Stops the SLURM cluster .ci/setup.d/slurm.sh started (cancels its jobs,
# kills the daemons it recorded). Harmless when it is not running.
set -euo pipefail
dir=${DENDFIT_SLURM_DIR:-/tmp/dendfit-ci-slurm}
bash "$(dirname "$0")/../slurm-local.sh" stop "$dir"
