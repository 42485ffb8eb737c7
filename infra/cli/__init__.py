"""The ``carehooks`` command line (``scripts/carehooks`` or ``python -m infra.cli``)."""
