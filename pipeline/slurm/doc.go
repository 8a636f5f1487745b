// Package slurm runs a dendfit sweep on a SLURM cluster: it writes a job
// array whose task K sweeps shard K of N into its own database, and a merge
// job that combines the shard databases into one when every task has
// succeeded; it submits them with sbatch and waits for them with squeue.
//
// The scripts are plain, commented bash with #SBATCH lines, meant to be read
// and edited. Every path in them is absolute, because a job may start on
// another node and in another directory. Each task runs `dendfit sweep
// --resume`, so a task that is requeued (the array is submitted with
// --requeue) or resubmitted (sbatch --array=K sweep.sbatch) continues its
// shard where it stopped, without recording any point twice.
package slurm
