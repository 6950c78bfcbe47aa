"""Driver SQL captured from jdbc against PostgreSQL 15, replayed against lakegate."""

from replay import replay


def test_jdbc_statements_answer_as_postgresql_does(lakegate):
    problems = replay(lakegate, "jdbc")
    assert not problems, "\n".join(problems)
