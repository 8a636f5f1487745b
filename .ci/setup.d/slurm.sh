#!/usr/bin/env bash
# Starts a single-node SLURM cluster (Debian's slurm-wlm, installed if
# missing; see .ci/slurm-local.sh) for the SLURM integration tests in
# pipeline/slurm, which skip when SLURM_CONF is unset. Needs root.
set -euo pipefail
dir=${DENDFIT_SLURM_DIR:-/tmp/dendfit-ci-slurm}
here=$(dirname "$0")
env=$(bash "$here/../slurm-local.sh" start "$dir")
case "$env" in
	"export SLURM_CONF="*) ;;
	*) echo "slurm.sh: slurm-local.sh printed '$env', not export SLURM_CONF=..." >&2; exit 1 ;;
esac
{
	echo "$env"
	echo "export DENDFIT_SLURM_DIR=$dir"
} >> "${CI_ENV_FILE:?CI_ENV_FILE not set (run from .ci/run)}"
