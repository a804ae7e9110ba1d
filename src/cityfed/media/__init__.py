"""Uploads, image and document processing, storage backends and the remote image cache (§2).

``processing`` and ``documents`` check and transform bytes (no database, no network);
``storage`` keeps content-addressed files (data dir or an S3-compatible store); ``uploads`` ties
checking, quota and storing together; ``remote`` caches partner cities' images so our pages never
hotlink them. The rows live in ``models/media.py``.
"""
