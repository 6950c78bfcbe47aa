"""The audit log, and policy reloads while sessions and prepared statements are open."""

import time

import psycopg
import pytest
from psycopg import errors

import rawpg
from personas import token

T = "parking_raw_zone.liberator_pcn_tickets"


def wait_for(predicate, what, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_statements_logins_and_denials_are_audited_without_tokens(lakegate):
    analyst = token(lakegate, "analyst")
    with psycopg.connect(**lakegate.dsn(analyst), autocommit=True) as conn:
        rows = conn.execute(f"SELECT vrm, 'audit-probe' FROM {T} LIMIT 7").fetchall()
        with pytest.raises(errors.InsufficientPrivilege) as denied:
            conn.execute(f"DROP TABLE {T}")
        with pytest.raises(errors.UndefinedTable):
            conn.execute("SELECT * FROM housing_raw_zone.tenancies")
    assert rawpg.login("127.0.0.1", lakegate.port, "token", "forged.token.value")[0] == "error"

    def statements():
        lines = lakegate.audit_lines()
        done = [l for l in lines if l.get("event") == "statement" and l["subject"] == "pat.parking"]
        return lines if len(done) >= 3 else None

    lines = wait_for(statements, "three audited statements")
    text = "\n".join(map(str, lines))
    assert analyst not in text and "forged.token.value" not in text
    mine = [l for l in lines if l.get("event") == "statement" and l["subject"] == "pat.parking"]
    select = next(l for l in mine if "audit-probe" in l["sql"])
    assert select["outcome"] == "ok" and select["rows"] == len(rows) == 7
    assert select["protocol"] == "pg" and select["client"].startswith("127.0.0.1:")
    assert select["claims"]["wards"] == ["E05009372"]
    assert select["tables"] == [{
        "table": T,
        "grants": ["parking analysts: own wards, plates masked"],
        "restricts": [],
        "masks": {"vrm": "show_last_4"},
    }]
    drop = next(l for l in mine if l["sql"].startswith("DROP") and l["query_id"] in denied.value.diag.message_detail)
    assert drop["outcome"] == "denied"
    hidden = next(l for l in mine if "tenancies" in l["sql"])
    assert hidden["outcome"] == "hidden"
    logins = [l for l in lines if l.get("event") == "login"]
    assert any(l["outcome"] == "ok" and l["subject"] == "pat.parking" for l in logins)
    assert any(l["outcome"] == "denied" and l["subject"] is None for l in logins)


def test_a_reload_applies_to_open_sessions_and_prepared_statements(private_lakegate):
    lg = private_lakegate
    policy = lg.dir / "policy.toml"
    original = policy.read_text()
    sql = f"SELECT count(*) FROM {T} WHERE ward_code = %s"
    with psycopg.connect(**lg.dsn(token(lg, "analyst")), autocommit=True) as conn:
        before = conn.execute(sql, ("E05009372",), prepare=True).fetchone()[0]
        assert before > 0
        assert conn.execute(sql, ("E05009370",), prepare=True).fetchone() == (0,)
        policy.write_text(original.replace(
            "row_filter = \"ward_code IN (claim('wards'))\"\nmasks = { vrm = \"show_last_4\" }",
            "row_filter = \"ward_code = 'E05009370'\"\nmasks = { vrm = \"show_last_4\" }", 1))
        lg.reload()
        wait_for(lambda: any(l.get("event") == "policy_reload" and l["outcome"] == "ok" for l in lg.audit_lines()),
                 "the reload")
        assert conn.execute(sql, ("E05009372",), prepare=True).fetchone() == (0,)
        assert conn.execute(sql, ("E05009370",), prepare=True).fetchone()[0] > 0

        # A policy that does not parse is refused and the current one kept.
        policy.write_text("[[grant]]\ntables = [\n")
        lg.reload()
        wait_for(lambda: any(l.get("event") == "policy_reload" and l["outcome"] == "error" for l in lg.audit_lines()),
                 "the refused reload")
        assert conn.execute(sql, ("E05009370",), prepare=True).fetchone()[0] > 0
    policy.write_text(original)
