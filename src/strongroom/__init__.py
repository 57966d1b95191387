"""Strongroom: a self-hosted Python package index with PyPI-grade account security."""

__version__ = "0.1.0"
