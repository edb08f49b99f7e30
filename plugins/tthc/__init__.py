"""The TTHC pipeline: extract dossiers from the provincial export API, check them, load them into
the warehouse and compute the indicators provinces are ranked on.

DAG files under ``dags/`` only wire these modules together; every rule lives here, in
``include/sql/`` or in ``expectations/``.
"""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SQL_DIR = PROJECT_ROOT / "include" / "sql"
REFERENCE_DIR = PROJECT_ROOT / "include" / "reference"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
