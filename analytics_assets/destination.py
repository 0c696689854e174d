"""Where the data lands: a dlt pipeline into the `analytics` dataset.

DuckDB by default, in `analytics_assets.duckdb` in the working directory (dlt's default file is
named after the pipeline; it must not be `analytics.duckdb`, because a DuckDB catalog named like
the dataset makes every `analytics.<table>` reference ambiguous). Point it elsewhere with dlt's
own setting `DESTINATION__DUCKDB__CREDENTIALS`.
"""

import functools
import tempfile

import dlt

PIPELINE_NAME = "analytics_assets"
DATASET_NAME = "analytics"
DESTINATION = "duckdb"
# The Dagster concurrency pool every load into the destination runs in (DuckDB: one writer).
DESTINATION_POOL = "analytics_destination"


def analytics_pipeline(pipelines_dir: str) -> dlt.Pipeline:
    """A dlt pipeline whose working directory lives under `pipelines_dir`.

    Each run passes a directory of its own, so that concurrent runs never share dlt's local
    state; the incremental windows are stateless and schemas are restored from the destination.
    """
    return dlt.pipeline(
        pipeline_name=PIPELINE_NAME,
        pipelines_dir=pipelines_dir,
        destination=DESTINATION,
        dataset_name=DATASET_NAME,
    )


@functools.cache
def _definitions_workdir() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="analytics-dlt-definitions-")


def definitions_pipeline() -> dlt.Pipeline:
    """The pipeline the asset definitions describe (destination kind, dataset); never run.

    dlt writes a working directory whenever a pipeline object is made, so this one lives in a
    temporary directory of the process, removed when the process exits.
    """
    return analytics_pipeline(_definitions_workdir().name)
