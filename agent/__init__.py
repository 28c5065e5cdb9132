"""Prestart agent: facts, rules, pages and commit of task sequence variables."""

__version__ = "0.1.0"
