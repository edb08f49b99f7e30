# Image of every Airflow component of the TTHC pipeline, and of the source-API simulator.
#
# The official Airflow image plus the project's pinned requirements.txt (the full lock: Airflow's
# constraint files are not reachable from where this project is built) and the project's code.
# docker-compose.yaml also bind-mounts dags/, plugins/, include/ and expectations/ over the
# copies made here, so edits show up without a rebuild; the copies make the image usable alone.
FROM apache/airflow:3.3.2-python3.11

# System libraries the unit report's PDF needs (WeasyPrint loads Pango at run time) and a font
# with every Vietnamese glyph.
USER root
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
    && apt-get clean && rm -rf /var/lib/apt/lists/*

USER airflow

# Dependencies first, so that code changes do not invalidate this layer. Naming apache-airflow
# with the base image's version keeps pip from moving Airflow itself while it resolves the lock.
COPY --chown=airflow:0 requirements.txt /opt/airflow/requirements.txt
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -r /opt/airflow/requirements.txt

COPY --chown=airflow:0 dags/ /opt/airflow/dags/
COPY --chown=airflow:0 plugins/ /opt/airflow/plugins/
COPY --chown=airflow:0 include/ /opt/airflow/include/
COPY --chown=airflow:0 expectations/ /opt/airflow/expectations/
COPY --chown=airflow:0 simulator/ /opt/airflow/simulator/

# `import simulator` (python -m simulator) and `import tthc` (plugins/tthc) from any process,
# not only from those Airflow starts (Airflow adds plugins/ to sys.path by itself).
ENV PYTHONPATH="/opt/airflow:/opt/airflow/plugins${PYTHONPATH:+:${PYTHONPATH}}"

WORKDIR /opt/airflow
