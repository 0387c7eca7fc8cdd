"""deployhook: a signed push webhook that deploys test-gated releases with zero downtime."""

from .config import Config, ConfigError, load_config
from .web import create_app

__all__ = ["Config", "ConfigError", "create_app", "load_config"]
