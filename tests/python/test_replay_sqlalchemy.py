"""Driver SQL captured from sqlalchemy against PostgreSQL 15, replayed against lakegate."""

from replay import replay


def test_sqlalchemy_statements_answer_as_postgresql_does(lakegate):
    problems = replay(lakegate, "sqlalchemy")
    assert not problems, "\n".join(problems)
