from datetime import date

from tthc.tasks import calendar_span


def test_calendar_span_reaches_the_end_of_the_year_after_next():
    # A dossier received in late December is due in the next year; its holidays must be known.
    assert calendar_span(date(2026, 12, 1)) == (date(2000, 1, 1), date(2028, 12, 31))
    assert calendar_span(date(2027, 1, 1))[1] == date(2029, 12, 31)
