"""Driver SQL captured from psycopg against PostgreSQL 15, replayed against lakegate."""

from replay import replay


def test_psycopg_statements_answer_as_postgresql_does(lakegate):
    problems = replay(lakegate, "psycopg")
    assert not problems, "\n".join(problems)
