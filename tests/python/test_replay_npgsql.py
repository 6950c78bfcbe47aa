"""Npgsql's (Power BI's) connection start-up batch and a binary query, as sent to
PostgreSQL 15, replayed against lakegate."""

from replay import replay


def test_npgsql_statements_answer_as_postgresql_does(lakegate):
    problems = replay(lakegate, "npgsql")
    assert not problems, "\n".join(problems)
