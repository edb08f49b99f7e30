"""Assets the TTHC DAGs produce and consume (shared so that names cannot drift apart)."""

from airflow.sdk import Asset

CORE_DOSSIERS = Asset(name="tthc_core_dossiers", uri="tthc://warehouse/core/fact_dossier")
CORE_FEEDBACK = Asset(name="tthc_core_feedback", uri="tthc://warehouse/core/fact_feedback")
CORE_REFERENCE = Asset(name="tthc_core_reference", uri="tthc://warehouse/core/dim_unit")
MART_INDICATORS = Asset(name="tthc_mart_indicators", uri="tthc://warehouse/mart/indicator_value")
