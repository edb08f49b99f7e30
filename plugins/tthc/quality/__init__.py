"""The data-quality gate: Great Expectations suites from ``expectations/``, quarantine and audit."""
