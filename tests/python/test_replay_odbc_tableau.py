"""Driver SQL captured from odbc_tableau against PostgreSQL 15, replayed against lakegate."""

from replay import replay


def test_odbc_tableau_statements_answer_as_postgresql_does(lakegate):
    problems = replay(lakegate, "odbc_tableau")
    assert not problems, "\n".join(problems)
