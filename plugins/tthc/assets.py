"""Airflow objects the TTHC DAGs share, named once so they cannot drift apart: the assets they
produce and consume, and the pool that caps concurrent calls to the provincial API.

Kept free of heavy imports: every DAG file imports it at parse time.
"""

from airflow.sdk import Asset

CORE_DOSSIERS = Asset(name="tthc_core_dossiers", uri="tthc://warehouse/core/fact_dossier")
CORE_FEEDBACK = Asset(name="tthc_core_feedback", uri="tthc://warehouse/core/fact_feedback")
CORE_REFERENCE = Asset(name="tthc_core_reference", uri="tthc://warehouse/core/dim_unit")
MART_INDICATORS = Asset(name="tthc_mart_indicators", uri="tthc://warehouse/mart/indicator_value")

SOURCE_POOL = "tthc_source"
SOURCE_POOL_SLOTS = 4
