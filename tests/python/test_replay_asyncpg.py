"""Driver SQL captured from asyncpg against PostgreSQL 15, replayed against lakegate."""

from replay import replay


def test_asyncpg_statements_answer_as_postgresql_does(lakegate):
    problems = replay(lakegate, "asyncpg")
    assert not problems, "\n".join(problems)
