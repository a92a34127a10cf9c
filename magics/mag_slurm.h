/* mag_slurm: a job directory as a Slurm job array (issue 19, %executor slurm) — writing
 * DIR/submit.sh, submitting it with sbatch, cancelling it with scancel.  The kernel
 * never links Slurm: sbatch and scancel are child processes (fork/execvp, no shell),
 * looked up in PATH.
 *
 * DIR/submit.sh (mode 0755) runs every point of the job directory DIR
 * (mag_jobs.h) as one array task:
 *
 *     #!/bin/bash
 *     # (comments: what this is, how to submit it, the binary's path)
 *     #SBATCH --job-name=NAME                 NAME: DIR's last component
 *     #SBATCH --array=0-(N-1)%K               %K only when array_limit is set
 *     #SBATCH --partition=P                   when set
 *     #SBATCH --time=T                        when set
 *     #SBATCH --output=/abs/DIR/slurm-%A_%a.out
 *     #SBATCH --cpus-per-task=1               a point is one thread
 *     srun /abs/rlhf-kernel worker /abs/DIR --point "$SLURM_ARRAY_TASK_ID"
 *
 * The binary is this process's own (/proc/self/exe): the cluster's nodes must have it at
 * the same path (or the line is edited), and DIR must be on a file system they share.
 * Paths are one bash word each (single-quoted when they hold anything but
 * [A-Za-z0-9_./+=,:@%-], a quote as '\''); in the #SBATCH lines, which sbatch reads
 * itself, a path with a blank or a quote is refused.
 * Leaves out: following a running job (mag_remote.h) and collecting its points. */
#ifndef MAG_SLURM_H
#define MAG_SLURM_H

#include <stddef.h>

/* What submit.sh asks of Slurm: partition (NULL: the cluster's default), array_limit
 * (the most tasks running at once, 0: no limit), time (sbatch's --time, "[D-]HH:MM:SS"
 * or "MM:SS", NULL: the partition's default). */
typedef struct mag_slurm_opts {
    const char *partition;
    int array_limit;
    const char *time;
} mag_slurm_opts;

/* Writes DIR/submit.sh for npoints (>= 1) points; 0, or -1 with err ("cannot write
 * DIR/submit.sh: ...", a path sbatch cannot take). */
int mag_slurm_write(const char *dir, int npoints, const mag_slurm_opts *o, char *err, size_t cap);

/* 1 if an executable sbatch is in PATH, else 0. */
int mag_slurm_available(void);

/* Runs `sbatch --parsable DIR/submit.sh` (a child process, waited for; stdin /dev/null)
 * and writes the job id it prints ("123", or "123;cluster": 123) into jobid[cap] and,
 * with a newline, into DIR/slurm-job.  0, or -1 with err: sbatch absent from PATH,
 * "sbatch exited with status S: LAST LINE OF ITS STDERR", no job id in its output, or
 * DIR/slurm-job not written. */
int mag_slurm_submit(const char *dir, char *jobid, size_t cap, char *err, size_t ecap);

/* Runs `scancel JOBID` (a child process, waited for).  0, or -1 with err (scancel absent,
 * or its exit status and last line of stderr). */
int mag_slurm_cancel(const char *jobid, char *err, size_t cap);

/* Whether Slurm job jobid still has tasks pending or running (`squeue --noheader --jobs
 * JOBID`): 1, 0 (none: it ended), or -1 when squeue cannot tell (absent, or failing, e.g.
 * slurmctld unreachable). */
int mag_slurm_alive(const char *jobid);
/* 1 if prog is an executable file in a directory of PATH, else 0. */
int mag_in_path(const char *prog);
/* Checks an sbatch --time value: 0 if it is "[D-]H[H]:MM:SS" or "M[M]:SS" (MM and SS
 * below 60, with D- the hours below 24), else -1. */
int mag_slurm_time_check(const char *t);

#endif
