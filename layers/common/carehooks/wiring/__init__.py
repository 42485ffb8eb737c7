"""Composition: each function's use case built with its store, configuration, clients and clock."""
