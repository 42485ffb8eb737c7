"""The ``carehooks`` command line: the ``carehooks`` console script, ``scripts/carehooks`` or ``python -m infra.cli``."""
