"""Progress while reportlab lays out a document: the long part of writing a PDF."""

from __future__ import annotations

from collections.abc import Callable

from reportlab.platypus import SimpleDocTemplate


def report_layout(doc: SimpleDocTemplate, flowables: int, on_progress: Callable[[int, int], None] | None) -> None:
    """Call on_progress(placed, total) as reportlab places the document's flowables."""
    if on_progress is None:
        return
    size = {"total": max(flowables, 1)}

    def laid_out(kind: str, value: int) -> None:
        if kind == "SIZE_EST":
            size["total"] = max(int(value), 1)
        elif kind == "PROGRESS":
            on_progress(int(value), size["total"])

    doc.setProgressCallBack(laid_out)
