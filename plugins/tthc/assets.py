"""Airflow objects the TTHC DAGs share, named once so they cannot drift apart: the assets they
produce and consume (a source's pool is its own: tthc.sources).

Kept free of heavy imports: every DAG file imports it at parse time.
"""

from airflow.sdk import Asset

CORE_DOSSIERS = Asset(name="tthc_core_dossiers", uri="tthc://warehouse/core/fact_dossier")
CORE_FEEDBACK = Asset(name="tthc_core_feedback", uri="tthc://warehouse/core/fact_feedback")
CORE_REFERENCE = Asset(name="tthc_core_reference", uri="tthc://warehouse/core/dim_unit")
MART_INDICATORS = Asset(name="tthc_mart_indicators", uri="tthc://warehouse/mart/indicator_value")
