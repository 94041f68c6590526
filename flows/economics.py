"""Alias kept for ``flows/daily.py``: ``checked_frames`` now lives in
``flows/compute.py`` (the config becomes frames in ``flows/frames.py``; the
economics in depth are computed in ``transforms/books.py``)."""

from flows.compute import checked_frames

__all__ = ["checked_frames"]
