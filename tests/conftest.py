"""Shared test configuration.

Hypothesis explores randomly on a developer's machine; under CI it is derandomized so a
red build always reproduces. HYPOTHESIS_PROFILE=long gives a longer exploration run.
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("long", max_examples=5000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "default"))
