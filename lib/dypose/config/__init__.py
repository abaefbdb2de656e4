"""Experiment configuration (yacs): defaults, loading and validation."""

from dypose.config.config import ConfigError, get_config, validate
from dypose.config.defaults import get_defaults

__all__ = ["ConfigError", "get_config", "get_defaults", "validate"]
