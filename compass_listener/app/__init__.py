"""Composition root: builds the objects, owns the qasync loop and the lifecycle (Qt allowed)."""
