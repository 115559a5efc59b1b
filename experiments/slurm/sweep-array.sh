#!/usr/bin/env bash
# One shard of a sweep per Slurm array task, every task against one shared run store.
#
# Submit from the project's root (the job runs in the submit directory):
#
#   sbatch --array=0-3 experiments/slurm/sweep-array.sh all --profile mini --store /shared/runs/mini
#
# Array task i of n runs `narrator sweep ... --shard i/n`: the trials whose keys are the i-th,
# (i+n)-th, ... in key order. The indices must be 0..n-1 (no steps, no gaps), so that
# $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT names a shard. Each task runs
# $SLURM_CPUS_PER_TASK workers (NARRATOR_WORKERS overrides). The store must be on a file system
# every node sees; claims (trials/<key>/lock) keep two tasks from running one trial.
#
# Resubmitting the same command skips finished trials and resumes interrupted ones from their
# checkpoints; add --retry-failed to rerun failed ones. A task exits 1 when a trial of its shard
# failed or is unfinished. A killed task leaves locks naming its host and pid: on the same host
# they are taken over once the pid is gone; on another host, delete trials/<key>/lock by hand.
#
# With "transfer": "winners" in the profile, the transfer experiments wait for every sweep of
# every shard. Submit them as a second array that starts when the first has succeeded:
#
#   jid=$(sbatch --parsable --array=0-3 experiments/slurm/sweep-array.sh \
#           optimizers schedulers epochs batch-size learning-rate baselines --profile paper --store S)
#   sbatch --dependency=afterok:$jid --array=0-3 experiments/slurm/sweep-array.sh \
#           cocktail cocktail-ratios diff-vs-files --profile paper --store S
#
# Kubernetes indexed Jobs work the same way: --shard "$JOB_COMPLETION_INDEX/<completions>".
#
#SBATCH --job-name=narrator-sweep
#SBATCH --cpus-per-task=2
#SBATCH --output=narrator-sweep-%A_%a.out
set -euo pipefail

: "${SLURM_ARRAY_TASK_ID:?submit as a job array: sbatch --array=0-N $0 ...}"
: "${SLURM_ARRAY_TASK_COUNT:?submit as a job array: sbatch --array=0-N $0 ...}"
if [ "$#" -eq 0 ]; then
  echo "usage: sbatch --array=0-N $0 <experiment>...|all [narrator sweep options]" >&2
  exit 2
fi

cd "${SLURM_SUBMIT_DIR:-.}"
workers="${NARRATOR_WORKERS:-${SLURM_CPUS_PER_TASK:-1}}"
exec node bin/narrator.js sweep "$@" \
  --shard "${SLURM_ARRAY_TASK_ID}/${SLURM_ARRAY_TASK_COUNT}" \
  --workers "$workers"
