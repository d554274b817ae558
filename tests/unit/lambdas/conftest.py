"""`pytest --hypothesis-profile=thorough tests/unit/lambdas` runs the trend properties on 20x
the examples of the default profile (100 per property) that `make test` runs."""

from hypothesis import settings

settings.register_profile("thorough", max_examples=2000, deadline=None)
