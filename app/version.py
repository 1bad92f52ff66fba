"""The version of Natter this checkout is: the newest release in CHANGELOG.md.

pyproject.toml reads it (setuptools' dynamic version), `natter-admin --version` prints it and
/healthz reports it; docs/developers/releasing.md says when and how it changes.
"""

VERSION = "0.5.0"
