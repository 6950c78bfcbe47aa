"""pgjdbc (Debian's libpostgresql-jdbc-java), the driver under Tableau's and Metabase's
JDBC connectors: a small Java program compiled here, run as a persona."""

import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import psycopg
import pytest

from personas import token

SOURCE = Path(__file__).resolve().parents[1] / "jdbc/JdbcProbe.java"
JAR = Path("/usr/share/java/postgresql.jar")


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    assert shutil.which("javac") and JAR.exists(), "scripts/setup installs a JDK and pgjdbc"
    out = tmp_path_factory.mktemp("jdbc")
    subprocess.run(["javac", "-cp", str(JAR), "-d", str(out), str(SOURCE)], check=True)
    return out


def run(probe, lakegate, persona, *args):
    out = subprocess.run(["java", "-cp", f"{JAR}:{probe}", "JdbcProbe", str(lakegate.port),
                          token(lakegate, persona), *args], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    facts = defaultdict(list)
    for line in out.stdout.splitlines():
        key, *values = line.split("\t")
        facts[key].append(values)
    return facts


def test_metadata_prepared_statements_and_fetch_size_as_the_analyst(probe, lakegate):
    facts = run(probe, lakegate, "analyst", "parking_raw_zone", "liberator_pcn_tickets", "ward_code", "E05009372")
    assert facts["catalog"] == [["lake"]]
    schemas = {s for [s] in facts["schema"]}
    assert "parking_raw_zone" in schemas and not any(s.startswith(("housing", "revenues")) for s in schemas)
    tables = {name: (kind, remarks) for name, kind, remarks in facts["table"]}
    assert tables["parking_raw_zone.liberator_pcn_tickets"][1].startswith("Penalty charge notices")
    assert tables["parking_raw_zone.liberator_pcn_tickets_latest"][0] == "VIEW"
    assert not any(t.startswith(("housing", "revenues")) for t in tables)
    columns = {name: (kind, remarks) for name, kind, remarks in facts["column"]}
    assert columns["vrm"] == ("text", "Vehicle registration mark")
    assert columns["amount"][0] == "numeric"
    with psycopg.connect(**lakegate.dsn(token(lakegate, "analyst")), autocommit=True) as conn:
        total = conn.execute("SELECT count(*) FROM parking_raw_zone.liberator_pcn_tickets").fetchone()[0]
    counts = {int(count) for _, count in facts["prepared"]}
    assert len(facts["prepared"]) == 8 and counts == {total}
    assert facts["fetched"] == [[str(total)]]
    assert facts["hidden"] == [["42P01"]]
    assert facts["primary_key"] == [["wards", "ward_code", "1", "wards_pkey"]]
    assert facts["imported_key"] == [["ward_code", "unrestricted_raw_zone.wards", "ward_code",
                                      "liberator_pcn_tickets_ward_code_fkey"]]
    assert ["parking_raw_zone.liberator_pcn_tickets", "ward_code"] in facts["exported_key"]
    # Row descriptions name each column's table, which pgjdbc looks up for result metadata.
    assert facts["result_column"] == [["ward_code", ".wards", "1"], ["name", ".", "2"]]
    types = {name: int(code) for name, code in facts["type"]}
    assert types["int8"] == -5 and types["text"] == 12 and types["timestamptz"] == 93 and types["numeric"] == 2


def test_the_public_sees_only_unrestricted_tables(probe, lakegate):
    facts = run(probe, lakegate, "public", "unrestricted_raw_zone", "wards", "ward_code", "E05009372")
    assert {name.split(".")[0] for name, _, _ in facts["table"]} == {"unrestricted_raw_zone", "lakegate"}
    assert [c[0] for c in facts["column"]][:1] == ["ward_code"]
    assert facts["primary_key"] == [["wards", "ward_code", "1", "wards_pkey"]]
    # The tickets that reference wards are hidden from the public, and so is the relationship.
    assert facts["exported_key"] == [] and facts["imported_key"] == []
