"""Alibaba Cloud Container Registry (ACR), personal and enterprise editions."""
