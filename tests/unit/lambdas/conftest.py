"""`pytest --hypothesis-profile=thorough tests/unit/lambdas` runs the trend properties on 20x
the examples of the default profile (100 per property) that `make test` runs.

Under mutmut (`make mutation`, which sets MUTANT_UNDER_TEST) each property runs 25 fixed
examples: the four properties cost ~35 s a run on 100, and a surviving mutant runs them all;
derandomized, so a mutant's result does not change from one run to the next."""

import os

from hypothesis import settings

settings.register_profile("thorough", max_examples=2000, deadline=None)
settings.register_profile("mutation", max_examples=25, deadline=None, derandomize=True)
if "MUTANT_UNDER_TEST" in os.environ:
    settings.load_profile("mutation")
