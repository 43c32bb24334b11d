"""Placeholder so the registry import works; the timm wrapper is built in its own issue."""
