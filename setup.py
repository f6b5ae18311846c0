"""The compiled OTLP decoder; everything else about the package is in pyproject.toml."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "cicl_assets.telemetry._otlp_decode",
            sources=["cicl_assets/telemetry/_otlp_decode.c"],
            depends=[
                "cicl_assets/telemetry/_otlp_batch.h",
                "cicl_assets/telemetry/_otlp_check.h",
                "cicl_assets/telemetry/_otlp_columns.h",
                "cicl_assets/telemetry/_otlp_json.h",
                "cicl_assets/telemetry/_otlp_wire.h",
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
)
