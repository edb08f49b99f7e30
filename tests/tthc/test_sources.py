"""The sources file: what it may say, what it refuses, and what a source's days of service mean."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from tthc.settings import FIRST_SOURCE_ID, LOCAL_TZ, ConfigurationError
from tthc.sources import DEFAULT_SCHEDULES, get_source, load_sources


def _write(tmp_path, text: str):
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_file_lists_the_one_source_of_today():
    (source,) = load_sources()
    assert (source.id, source.conn_id, source.pool, source.queue) == (
        FIRST_SOURCE_ID,
        "tthc_source",
        "tthc_source",
        "default",
    )
    assert source.dag_id("dossiers") == "tthc_dossiers"
    assert dict(source.schedules) == dict(DEFAULT_SCHEDULES)


def test_defaults_of_a_new_entry(tmp_path):
    path = _write(tmp_path, "sources:\n  - {id: son_lam, conn_id: tthc_source_son_lam, name: Sơn Lâm}\n")
    (source,) = load_sources(path)
    assert source.dag_id("feedback") == "tthc_feedback_son_lam"
    assert (source.pool, source.pool_slots, source.queue) == ("tthc_source_son_lam", 4, "default")
    assert source.start is None and source.end is None


def test_days_of_service_clip_windows(tmp_path):
    path = _write(
        tmp_path,
        "sources:\n  - {id: bac_ha, conn_id: c, name: B, active_from: 2023-03-01, active_to: 2025-06-30}\n",
    )
    source = get_source("bac_ha", path)
    assert source.start == datetime(2023, 3, 1, tzinfo=LOCAL_TZ)
    assert source.end == datetime(2025, 7, 1, tzinfo=LOCAL_TZ)
    june = (datetime(2025, 6, 1, tzinfo=LOCAL_TZ), datetime(2025, 8, 1, tzinfo=LOCAL_TZ))
    assert source.clip(*june) == (june[0], source.end)
    assert source.clip(datetime(2025, 7, 1, tzinfo=LOCAL_TZ), datetime(2025, 8, 1, tzinfo=LOCAL_TZ)) is None
    assert (
        source.clip(datetime(2022, 1, 1, tzinfo=LOCAL_TZ), datetime(2023, 4, 1, tzinfo=LOCAL_TZ))[0]
        == source.start
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sources: []\n", "non-empty list"),
        ("sources:\n  - {id: a, name: A}\n", "missing conn_id"),
        ("sources:\n  - {id: A-1, conn_id: c, name: A}\n", "lower-case letters"),
        ("sources:\n  - {id: a, conn_id: c, name: A, colour: red}\n", "unknown keys ['colour']"),
        ("sources:\n  - {id: a, conn_id: c, name: A, active_to: 30/06/2025}\n", "is not a date"),
        (
            "sources:\n  - {id: a, conn_id: c, name: A, active_from: 2025-07-01, active_to: 2025-06-30}\n",
            "is before active_from",
        ),
        ("sources:\n  - {id: a, conn_id: c, name: A}\n  - {id: a, conn_id: d, name: B}\n", "same id 'a'"),
        (
            "sources:\n  - {id: a, conn_id: c, name: A}\n  - {id: b, conn_id: d, name: B, dag_id_suffix: _a}\n",
            "same dag_id_suffix '_a'",
        ),
        (
            "sources:\n  - {id: a, conn_id: c, name: A, schedules: {hourly: '0 * * * *'}}\n",
            "schedules must map",
        ),
        ("sources: [\n", "not valid YAML"),
    ],
)
def test_mistakes_are_refused_with_the_entry_named(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigurationError, match=None) as raised:
        load_sources(path)
    assert message in str(raised.value) and str(path) in str(raised.value)


def test_the_file_is_named_by_the_environment(tmp_path, monkeypatch):
    path = _write(tmp_path, "sources:\n  - {id: x, conn_id: c, name: X, active_to: 2025-06-30}\n")
    monkeypatch.setenv("TTHC_SOURCES_FILE", str(path))
    assert [s.id for s in load_sources()] == ["x"]
    assert get_source("x").active_to == date(2025, 6, 30)
    with pytest.raises(ConfigurationError, match="no source 'y'"):
        get_source("y")
    monkeypatch.setenv("TTHC_SOURCES_FILE", str(tmp_path / "absent.yaml"))
    with pytest.raises(ConfigurationError, match="no such sources file"):
        load_sources()


def test_a_run_extracts_only_the_days_its_source_served(tmp_path, monkeypatch):
    from tthc.tasks import run_windows

    path = _write(
        tmp_path, "sources:\n  - {id: bac_ha, conn_id: tthc_source_bac_ha, name: B, active_to: 2025-06-30}\n"
    )
    monkeypatch.setenv("TTHC_SOURCES_FILE", str(path))
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_SOURCE_BAC_HA", "http://client:secret@127.0.0.1:9")
    windows = run_windows({"start": "2025-05-20", "end": "2025-08-01"}, None, None, source_id="bac_ha")
    assert [(w["start"][:10], w["end"][:10]) for w in windows] == [
        ("2025-05-20", "2025-06-01"),
        ("2025-06-01", "2025-07-01"),
    ]
    # a scheduled run after retirement (the DAG's end date lets one more interval through) extracts nothing
    after = datetime(2025, 7, 1, 1, tzinfo=LOCAL_TZ)
    assert run_windows({}, after, after.replace(hour=2), source_id="bac_ha") == []
