"""Helpers shared by the test packages (test modules never import from each other, see tests/test_layout.py)."""
