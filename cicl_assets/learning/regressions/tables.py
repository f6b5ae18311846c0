"""The regression evaluation's own tables: every comparison it made, and each finding's picture."""

import pyarrow as pa

from cicl_assets.warehouse.tables import UTC_TS, TableSpec

CL_REGRESSIONS = TableSpec(
    name="cl_regressions",
    description=(
        "One row per comparison the regression evaluation made in a day partition: a series' "
        "metric before and after a deploy, a change point or an error burst, with its test, "
        "p-value and sample sizes, whether or not it passed the thresholds."
    ),
    schema=pa.schema(
        [
            ("partition_day", pa.string()),
            ("series_key", pa.string()),
            ("metric", pa.string()),
            ("method", pa.string()),
            ("anchor", pa.string()),
            ("change_at", UTC_TS),
            ("data_through", UTC_TS),
            ("baseline_value", pa.float64()),
            ("current_value", pa.float64()),
            ("effect_ratio", pa.float64()),
            ("p_value", pa.float64()),
            ("statistic", pa.float64()),
            ("n_baseline", pa.int64()),
            ("n_current", pa.int64()),
            ("passed", pa.bool_()),
            ("deployment_id", pa.string()),
        ]
    ),
    time_column="change_at",
    cluster_by=("metric",),
    column_docs={
        "anchor": "deploy:<deployment_id>, version:<env>:<service>:<version>:<time> for a "
        "version change seen in spans without a deployment record, or hour:<hour> without a deploy",
        "method": "mann_whitney_u, fisher_exact, e_divisive_means or fisher_exact_hourly",
        "passed": "whether it passed the thresholds of config/learning/regressions.yaml",
    },
)

CL_FINDING_PICTURES = TableSpec(
    name="cl_finding_pictures",
    description=(
        "One row per finding of the regression evaluation: its picture (the metric hour by "
        "hour with the deploy and change marked, the distributions before and after) as a "
        "base64 PNG, from the data the finding was last computed on."
    ),
    schema=pa.schema(
        [
            ("finding_id", pa.string()),
            ("title", pa.string()),
            ("png_base64", pa.string()),
            ("data_through", UTC_TS),
        ]
    ),
)
