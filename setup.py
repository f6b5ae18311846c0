"""The compiled OTLP decoder; everything else about the package is in pyproject.toml.

CICL_BUILD_EXTENSION=off installs the package without it (the pure-Python decoder then parses
everything): `make test-fallback` tests that form.
"""

import os

from setuptools import Extension, setup

BUILD_EXTENSION = os.environ.get("CICL_BUILD_EXTENSION", "on").lower() != "off"

setup(
    ext_modules=[
        Extension(
            "cicl_assets.telemetry._otlp_decode",
            sources=["cicl_assets/telemetry/_otlp_decode.c"],
            depends=[
                "cicl_assets/telemetry/_json_depth.h",
                "cicl_assets/telemetry/_otlp_batch.h",
                "cicl_assets/telemetry/_otlp_check.h",
                "cicl_assets/telemetry/_otlp_columns.h",
                "cicl_assets/telemetry/_otlp_json.h",
                "cicl_assets/telemetry/_otlp_jsonin.h",
                "cicl_assets/telemetry/_otlp_jsonin_py.h",
                "cicl_assets/telemetry/_otlp_jsontok.h",
                "cicl_assets/telemetry/_otlp_jsonunits.h",
                "cicl_assets/telemetry/_otlp_logs.h",
                "cicl_assets/telemetry/_otlp_logs_check.h",
                "cicl_assets/telemetry/_otlp_logs_json.h",
                "cicl_assets/telemetry/_otlp_logs_py.h",
                "cicl_assets/telemetry/_otlp_promote.h",
                "cicl_assets/telemetry/_otlp_wire.h",
                "cicl_assets/telemetry/_secret_scan.h",
            ],
            extra_compile_args=[
                "-O2",
                "-std=c11",
                "-Wall",
                "-Wextra",
                "-Wno-missing-field-initializers",
                "-Wno-unused-parameter",
            ],
            optional=True,  # no compiler: the pure-Python decoder is used
        )
    ]
    if BUILD_EXTENSION
    else []
)
