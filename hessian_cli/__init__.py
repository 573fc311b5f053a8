"""The ``hessian`` command line: a thin layer over :mod:`hessian_common`."""
