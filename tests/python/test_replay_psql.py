"""Driver SQL captured from psql against PostgreSQL 15, replayed against lakegate."""

from replay import replay


def test_psql_statements_answer_as_postgresql_does(lakegate):
    problems = replay(lakegate, "psql")
    assert not problems, "\n".join(problems)
