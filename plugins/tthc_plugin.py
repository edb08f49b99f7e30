"""The project's Airflow plugin: it registers the working-day timetable (``tthc.timetables``), which
the scheduler, the DAG processor and the API server need to rebuild ``tthc_watchlist``'s schedule.

Airflow imports every module of its plugins folder (``plugins/``, ``AIRFLOW__CORE__PLUGINS_FOLDER``)
in each of its processes; ``plugins/.airflowignore`` keeps it out of the ``tthc`` package itself.
``airflow plugins`` lists what is loaded.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from tthc.timetables import WorkingDayTimetable


class TthcPlugin(AirflowPlugin):
    name = "tthc"
    timetables = [WorkingDayTimetable]
