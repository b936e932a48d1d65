"""The native codec's C extension, built when a C compiler is there (optional: without one the package
installs and runs the compiled Python codec). Everything else is in pyproject.toml."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "pipeline.codec._native",
            ["pipeline/codec/_native.c"],
            optional=True,
            extra_compile_args=["-O2", "-std=c11"],
        )
    ]
)
