"""Every metric of the service, declared once with its help text.

Names keep the old service's (design §8) so its dashboards keep working; labels
never carry ids or messages.
"""

from prometheus_client import Counter, Histogram

JOB_RESULTS = Counter(
    "job_results_total",
    "Attempts that ended, by queue, job type and result "
    "(succeeded, failed, retried, aborted, interrupted, deduplicated).",
    ["queue_name", "job_type", "result"],
)
JOB_DURATION = Histogram(
    "job_processing_duration_seconds",
    "Time a job's task body ran, per attempt.",
    ["queue_name", "job_type"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
JOB_RETRIES = Counter(
    "job_retries_total",
    "Attempts that failed and were scheduled for another attempt.",
    ["queue_name", "job_type"],
)
FAILED_JOBS = Counter(
    "failed_jobs_total",
    "Jobs that failed for good (dead-lettered), by queue.",
    ["queue_name"],
)
JOBS_RESCUED = Counter(
    "jobs_rescued_total",
    "Running jobs of silent workers handled by the rescue, by queue and outcome "
    "(rescued, failed, cancelled).",
    ["queue_name", "outcome"],
)
JOBS_CLAIMED = Counter(
    "worker_jobs_claimed_total",
    "Jobs claimed by this worker process, by queue.",
    ["queue_name"],
)
COMPLETION_BATCH = Histogram(
    "worker_completion_batch_size",
    "Attempts completed per database statement.",
    buckets=(1, 2, 5, 10, 20, 50, 100),
)
