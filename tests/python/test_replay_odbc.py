"""Driver SQL captured from odbc against PostgreSQL 15, replayed against lakegate."""

from replay import replay


def test_odbc_statements_answer_as_postgresql_does(lakegate):
    problems = replay(lakegate, "odbc")
    assert not problems, "\n".join(problems)
