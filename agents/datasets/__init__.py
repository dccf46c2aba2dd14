"""Loaders of the public dataset formats (one module per format), torch-free.

They read the real datasets' annotation files and the ``vlnsim make-corpus`` output alike.
"""
