"""Writes for consolidation: aggregation runs, dispositions, carry-over, reports, imports.

One module per concern; each public function checks permission and state, then writes.
"""
