"""Asset jobs and schedules. Jobs select assets by group or key, never by importing them."""

from jobs.artifacts import ARTIFACT_JOBS
from jobs.batch import BATCH_JOBS
from jobs.candidates import CANDIDATE_JOBS
from jobs.ci import CI_JOBS
from jobs.learning import LEARNING_JOBS
from jobs.regressions import REGRESSION_JOBS
from jobs.reports import REPORT_JOBS, REPORT_SCHEDULES
from jobs.slo import SLO_JOBS

ALL_JOBS = [*BATCH_JOBS, *ARTIFACT_JOBS, *CI_JOBS, *LEARNING_JOBS, *REGRESSION_JOBS, *SLO_JOBS,
            *CANDIDATE_JOBS, *REPORT_JOBS]  # fmt: skip
ALL_SCHEDULES: list = [*REPORT_SCHEDULES]

__all__ = ["ALL_JOBS", "ALL_SCHEDULES"]
