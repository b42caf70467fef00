"""Numba kernels on plain arrays (``nogil=True``, ``cache=True``); no pandas or
shapely inside. Importing a kernel module compiles lazily on first call."""
