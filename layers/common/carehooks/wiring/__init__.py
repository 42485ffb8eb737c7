"""The composition points: each function's use cases built with their store, configuration, clients and
clock. The only package that may import every floor; ``functions/<name>/app.py`` import one module here.

Kept light on purpose: a function imports only the module it needs (webhooks never load the store).
"""
