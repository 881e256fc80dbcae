"""Build of the compiled core; all metadata is in pyproject.toml."""

from setuptools import setup

setup(cffi_modules=["csrc/build_core.py:ffibuilder"])
