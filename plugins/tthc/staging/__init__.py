"""Source records to typed staging rows.

- ``values``: the source's value formats read as Python values (dates, numbers, text);
- ``dossier``: the one mapping of the dossier's Vietnamese source fields to English columns;
- ``partitions``: the life cycle of a dossier batch's own staging tables.

Units, procedures and feedback are few and are staged in SQL (``include/sql/staging/``).
"""
