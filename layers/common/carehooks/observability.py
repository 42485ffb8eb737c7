"""The one Logger, Metrics and Tracer every function shares (Powertools)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(service="carehooks")
metrics = Metrics(namespace="carehooks", service="carehooks")
tracer = Tracer(service="carehooks")
