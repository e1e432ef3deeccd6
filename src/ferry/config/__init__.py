"""Configuration as code: rule files (YAML) that declare registries and replication policies."""
