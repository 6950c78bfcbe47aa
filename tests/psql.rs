//! End-to-end with the real `psql` client against the real server.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{BIN, Demo, FREE_PORTS, ROWS, Server, TestHost, stderr, stdout};

const LATEST_COUNT: &str = "SELECT count(*) FROM parking_raw_zone.liberator_pcn_tickets_latest";

#[test]
fn parking_persona_counts_the_latest_import_over_tls() {
    let demo = Demo::new();
    let server = demo.serve();
    let out = server.psql(&demo.parking_token(), "require", LATEST_COUNT);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), (ROWS / 7).to_string());
}

#[test]
fn public_persona_cannot_see_parking_anywhere() {
    let demo = Demo::new();
    let server = demo.serve();
    let token = demo.public_token();

    let out = server.psql(&token, "require", LATEST_COUNT);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("42P01"), "{}", stderr(&out));

    let schemas = server.psql_as("token", &token, "require", &["-c", "\\dn"]);
    assert!(schemas.status.success(), "{}", stderr(&schemas));
    assert!(
        stdout(&schemas).contains("unrestricted_raw_zone"),
        "{}",
        stdout(&schemas)
    );
    assert!(
        !stdout(&schemas).contains("parking"),
        "{}",
        stdout(&schemas)
    );

    for sql in [
        "SELECT count(*) FROM information_schema.tables WHERE table_schema LIKE 'parking%'",
        "SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE 'parking%'",
        "SELECT count(*) FROM pg_catalog.pg_namespace WHERE nspname LIKE 'parking%'",
        "SELECT count(*) FROM pg_catalog.pg_class WHERE relname LIKE 'liberator%'",
    ] {
        let out = server.psql(&token, "require", sql);
        assert!(out.status.success(), "{sql}: {}", stderr(&out));
        assert_eq!(stdout(&out).trim(), "0", "{sql}");
    }
}

#[test]
fn hidden_and_missing_tables_give_the_same_error() {
    let demo = Demo::new();
    let server = demo.serve();
    let token = demo.public_token();
    let hidden = server.psql(&token, "require", "SELECT * FROM parking_raw_zone.permits");
    let missing = server.psql(
        &token,
        "require",
        "SELECT * FROM parking_raw_zone.no_such_table",
    );
    // Every statement has its own query id; everything else must match.
    let shape = |s: String| {
        s.replace("permits", "X")
            .replace("no_such_table", "X")
            .lines()
            .filter(|l| !l.starts_with("DETAIL:  query id"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(shape(stderr(&hidden)), shape(stderr(&missing)));
    assert!(stderr(&hidden).contains("42P01"));
}

#[test]
fn psql_meta_commands_list_and_describe() {
    let demo = Demo::new();
    let server = demo.serve();
    let token = demo.parking_token();
    let out = server.psql_as(
        "token",
        &token,
        "require",
        &["-c", "\\dt parking_raw_zone.*"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("liberator_pcn_tickets"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("permits"), "{}", stdout(&out));

    let out = server.psql_as(
        "token",
        &token,
        "require",
        &["-c", "\\d parking_raw_zone.liberator_pcn_tickets"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    for column in ["pcn", "vrm", "ward_code", "amount", "import_date"] {
        assert!(
            stdout(&out).contains(column),
            "missing {column}: {}",
            stdout(&out)
        );
    }

    for (command, expected) in [
        ("\\dt+ parking_raw_zone.*", "Penalty charge notices"),
        ("\\l", "lake"),
        ("\\dn", "parking_raw_zone"),
        ("\\dv parking_raw_zone.*", "liberator_pcn_tickets_latest"),
        ("\\df", ""),
        ("\\dt *.*", "wards"),
        (
            "\\d parking_raw_zone.liberator_pcn_tickets",
            "FOREIGN KEY (ward_code) REFERENCES unrestricted_raw_zone.wards(ward_code)",
        ),
        (
            "\\d+ unrestricted_raw_zone.wards",
            "\"wards_pkey\" PRIMARY KEY, btree (ward_code)",
        ),
        ("\\d+ unrestricted_raw_zone.wards", "ONS ward code"),
        ("\\di unrestricted_raw_zone.*", "wards_pkey"),
        (
            "\\d unrestricted_raw_zone.wards",
            "TABLE \"parking_raw_zone.liberator_pcn_tickets\" CONSTRAINT",
        ),
    ] {
        // With footers: psql prints indexes and keys there.
        let args = ["-P", "tuples_only=off", "-c", command];
        let out = server.psql_as("token", &token, "require", &args);
        assert!(out.status.success(), "{command}: {}", stderr(&out));
        assert!(
            stdout(&out).contains(expected),
            "{command}: {}",
            stdout(&out)
        );
    }
}

#[test]
fn bad_tokens_and_wrong_users_are_refused_before_any_query() {
    let demo = Demo::new();
    let server = demo.serve();
    let out = server.psql("not-a-token", "require", "SELECT 1");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("password authentication failed"),
        "{}",
        stderr(&out)
    );

    let token = demo.parking_token();
    let out = server.psql_as("someone.else", &token, "require", &["-c", "SELECT 1"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("user name does not match"),
        "{}",
        stderr(&out)
    );

    let out = server.psql_as(
        "pat.parking",
        &token,
        "require",
        &["-c", "SELECT current_database()"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "lake");
}

#[test]
fn plaintext_is_refused_unless_allowed_on_loopback() {
    let demo = Demo::new();
    let server = demo.serve();
    let token = demo.parking_token();
    let out = server.psql(&token, "disable", "SELECT 1");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("TLS is required"), "{}", stderr(&out));
    drop(server);

    demo.edit_config(
        "allow_plaintext_loopback = false",
        "allow_plaintext_loopback = true",
    );
    let server = demo.serve();
    let out = server.psql(&token, "disable", "SELECT 1");
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn writes_and_engine_settings_are_permission_denied() {
    let demo = Demo::new();
    let server = demo.serve();
    let token = demo.parking_token();
    for sql in [
        "DROP TABLE parking_raw_zone.permits",
        "CREATE TABLE x AS SELECT 1",
        "INSERT INTO parking_raw_zone.permits SELECT * FROM parking_raw_zone.permits",
        "COPY parking_raw_zone.permits FROM '/etc/passwd'",
        "SET datafusion.execution.target_partitions = 1",
        "SELECT * FROM '/etc/passwd'",
        "EXPLAIN ANALYZE SELECT 1",
    ] {
        let out = server.psql(&token, "require", sql);
        assert!(!out.status.success(), "{sql} succeeded");
        assert!(stderr(&out).contains("42501"), "{sql}: {}", stderr(&out));
    }
}

#[test]
fn compatibility_statements_just_work() {
    let demo = Demo::new();
    let server = demo.serve();
    let out = server.psql_as(
        "token",
        &demo.parking_token(),
        "require",
        &[
            "-c",
            "BEGIN",
            "-c",
            "SET application_name = 'lakegate-test'",
            "-c",
            "SHOW application_name",
            "-c",
            "SELECT 1; SELECT 2",
            "-c",
            ";",
            "-c",
            "COMMIT",
            "-c",
            "SHOW transaction isolation level",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("lakegate-test"), "{text}");
    assert!(text.contains("1\n2"), "{text}");
    assert!(text.contains("read committed"), "{text}");
}

#[test]
fn errors_carry_their_sqlstate_and_the_session_survives() {
    let demo = Demo::new();
    let server = demo.serve();
    let token = demo.parking_token();
    for (sql, code) in [
        ("SELEC 1", "42601"),
        ("SELECT nope FROM parking_raw_zone.permits", "42703"),
        ("SELECT 1/0", "22012"),
        ("SET no_such_setting = 1", "42704"),
    ] {
        let out = server.psql(&token, "require", sql);
        assert!(stderr(&out).contains(code), "{sql}: {}", stderr(&out));
    }
    let out = server.psql(&token, "require", "SELECT 42");
    assert_eq!(stdout(&out).trim(), "42");
}

#[test]
fn drifting_schema_is_merged_and_stays_readable() {
    let demo = Demo::new();
    let server = demo.serve();
    let token = demo.parking_token();
    let out = server.psql(
        &token,
        "require",
        "SELECT data_type FROM information_schema.columns WHERE table_schema = 'parking_raw_zone' AND table_name = 'permits' AND column_name = 'permit_id'",
    );
    assert_eq!(stdout(&out).trim(), "bigint", "{}", stderr(&out));
    let out = server.psql(
        &token,
        "require",
        "SELECT count(*), count(channel), min(import_date) FROM parking_raw_zone.permits",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let per_day = (ROWS / 70).to_string();
    let expected = format!("{}|{}|20241118", 7 * (ROWS / 70), 4 * (ROWS / 70));
    assert_eq!(stdout(&out).trim(), expected, "per day {per_day}");
}

#[test]
fn snapshot_datasets_have_a_latest_view() {
    let demo = Demo::new();
    let server = demo.serve();
    let out = server.psql(
        &demo.public_token(),
        "require",
        "SELECT DISTINCT snapshot_date FROM unrestricted_raw_zone.llpg_addresses_latest",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "20241101");
}

#[test]
fn a_corrupt_file_fails_its_query_naming_the_table_and_nothing_else() {
    let demo = Demo::new();
    let bad = demo.path("lake/raw/housing/repairs/import_year=2024/import_month=11/import_day=20/import_date=20241120/part-99999.parquet");
    std::fs::write(&bad, b"PAR1 this is not really parquet PAR1").expect("write corrupt file");
    let good = demo.path("lake/raw/housing/repairs/import_year=2024/import_month=11/import_day=21/import_date=20241121/part-00000.parquet");
    let bytes = std::fs::read(&good).expect("read");
    std::fs::write(
        good.with_file_name("part-99998.parquet"),
        &bytes[..bytes.len() / 2],
    )
    .expect("write truncated file");
    let mut server = demo.serve();
    let token = demo.token("dee.engineer", &["housing"], &["engineer"]);
    let out = server.psql(
        &token,
        "require",
        "SELECT count(*), max(priority) FROM housing_raw_zone.repairs",
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("housing_raw_zone.repairs"), "{err}");
    assert!(
        !err.contains("part-99999"),
        "a user sees no file paths: {err}"
    );
    let out = server.psql(
        &token,
        "require",
        "SELECT count(*) FROM housing_raw_zone.tenancies",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(server.alive());
}

#[test]
fn a_garbage_startup_packet_closes_only_that_connection() {
    let demo = Demo::new();
    let mut server = demo.serve();
    for garbage in [
        &b"\x00\x00\x00\x08\xde\xad\xbe\xef"[..],
        &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        &b"\xff\xff\xff\xff\x00\x03\x00\x00user\x00"[..],
    ] {
        let mut socket = TcpStream::connect(server.pg).expect("connect");
        socket
            .set_read_timeout(Some(Duration::from_secs(15)))
            .expect("timeout");
        socket.write_all(garbage).expect("write");
        let mut buf = Vec::new();
        let _ = socket.read_to_end(&mut buf);
    }
    assert!(server.alive());
    let out = server.psql(&demo.parking_token(), "require", "SELECT 1");
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn a_bad_config_is_refused_naming_the_line() {
    let demo = Demo::new();
    demo.edit_config(
        "listing_ttl_secs = 60",
        "listing_ttl_secs = 60\nlisting_tll_secs = 5",
    );
    let out = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(demo.config())
        .args(FREE_PORTS)
        .output()
        .expect("run serve");
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("line 20"), "{err}");
    assert!(err.contains("listing_tll_secs"), "{err}");
}

/// Lands a copy of the last tickets import as the next day's (`import_date=20241125`).
fn land_next_import(demo: &Demo) {
    let dataset = demo.path("lake/raw/parking/liberator/liberator_pcn_tickets");
    let from = dataset.join("import_year=2024/import_month=11/import_day=24/import_date=20241124");
    let to = dataset.join("import_year=2024/import_month=11/import_day=25/import_date=20241125");
    std::fs::create_dir_all(&to).expect("mkdir");
    std::fs::copy(
        from.join("part-00000.parquet"),
        to.join("part-00000.parquet"),
    )
    .expect("copy");
}

#[test]
fn new_partitions_appear_without_a_restart() {
    let demo = Demo::new();
    demo.edit_config("listing_ttl_secs = 60", "listing_ttl_secs = 1");
    let server = demo.serve();
    let token = demo.parking_token();
    land_next_import(&demo);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = server.psql(
            &token,
            "require",
            "SELECT max(import_date) FROM parking_raw_zone.liberator_pcn_tickets_latest",
        );
        if stdout(&out).trim() == "20241125" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "new partition never appeared: {}",
            stdout(&out)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn reload_makes_landed_files_visible_before_the_listing_ttl() {
    let demo = Demo::new();
    demo.edit_config("listing_ttl_secs = 60", "listing_ttl_secs = 3600");
    let server = demo.serve();
    let token = demo.parking_token();
    let count = "SELECT count(*) FROM parking_raw_zone.liberator_pcn_tickets \
                 WHERE import_date = '20241125'";
    // Listed and cached, partition absent.
    assert_eq!(stdout(&server.psql(&token, "require", count)).trim(), "0");
    land_next_import(&demo);
    let out = Command::new(BIN)
        .args(["reload", "--config"])
        .arg(demo.config())
        .args(["--http", &server.http.to_string()])
        .output()
        .expect("run reload");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("lake relisted"), "{}", stdout(&out));
    let rows: usize = stdout(&server.psql(&token, "require", count))
        .trim()
        .parse()
        .expect("a count");
    assert_eq!(rows, ROWS / 7, "the landed partition is read at once");
    let latest = "SELECT max(import_date) FROM parking_raw_zone.liberator_pcn_tickets_latest";
    assert_eq!(
        stdout(&server.psql(&token, "require", latest)).trim(),
        "20241125"
    );
}

#[test]
fn health_endpoint_answers() {
    let demo = Demo::new();
    let server = demo.serve();
    for path in ["/healthz", "/readyz"] {
        let mut socket = TcpStream::connect(server.http).expect("connect");
        write!(
            socket,
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        )
        .expect("write");
        let mut response = String::new();
        socket.read_to_string(&mut response).expect("read");
        assert!(response.starts_with("HTTP/1.1 200"), "{path}: {response}");
    }
}

#[test]
fn plaintext_from_off_loopback_is_refused_even_when_allowed_on_loopback() {
    let demo = Demo::new();
    demo.edit_config(
        "allow_plaintext_loopback = false",
        "allow_plaintext_loopback = true",
    );
    let host = TestHost::create();
    let listen = format!("{}:0", host.server_ip);
    let server = Server::start(
        &demo.config(),
        &[
            "--pg",
            &listen,
            "--http",
            "127.0.0.1:0",
            "--flight",
            "127.0.0.1:0",
        ],
    );
    let token = demo.parking_token();
    let out = host.psql(&server, &token, "disable", "SELECT 1");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("TLS is required"), "{}", stderr(&out));
    let out = host.psql(&server, &token, "require", "SELECT 1");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "1");
}

#[test]
fn listening_off_loopback_without_tls_is_refused() {
    let demo = Demo::new();
    let text = std::fs::read_to_string(demo.config()).expect("config");
    let without_tls = text.replace(
        "[tls]\ncert = \"tls/cert.pem\"\nkey = \"tls/key.pem\"\n",
        "",
    );
    assert_ne!(text, without_tls);
    std::fs::write(demo.config(), without_tls).expect("write");
    let out = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(demo.config())
        .args([
            "--pg",
            "0.0.0.0:0",
            "--http",
            "127.0.0.1:0",
            "--flight",
            "127.0.0.1:0",
        ])
        .output()
        .expect("run serve");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("without TLS"), "{}", stderr(&out));
}

#[test]
fn a_policy_that_no_longer_type_checks_closes_the_table_instead_of_opening_it() {
    let demo = Demo::new();
    // As if a column the restrict relies on had been dropped upstream.
    demo.add_policy(
        "\n[[restrict]]\ntables = [\"parking_raw_zone.permits\"]\nrow_filter = \"NOT withdrawn\"\n",
    );
    let server = demo.serve();
    let token = demo.parking_token();
    let out = server.psql(
        &token,
        "require",
        "SELECT count(*) FROM parking_raw_zone.permits",
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("55000"), "{}", stderr(&out));
    let out = server.psql(
        &token,
        "require",
        "SELECT count(*) FROM parking_raw_zone.liberator_pcn_tickets",
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn statements_too_deep_to_plan_safely_are_refused_and_the_server_survives() {
    let demo = Demo::new();
    let mut server = demo.serve();
    let token = demo.parking_token();
    // Statements this long go through a file: they exceed the limit on argument lists.
    let file = demo.path("statement.sql");
    let run = |sql: String| {
        std::fs::write(&file, sql).expect("write statement");
        let path = file.to_string_lossy().to_string();
        server.psql_as("token", &token, "require", &["-f", &path])
    };
    for terms in [2_000, 30_000, 300_000] {
        let out = run(format!("SELECT 1{}", " + 1".repeat(terms)));
        assert!(stderr(&out).contains("54001"), "{terms}: {}", stderr(&out));
    }
    let values: Vec<String> = (0..50_000).map(|i| format!("'AB{i:05}'")).collect();
    let out = run(format!(
        "SELECT count(*) FROM parking_raw_zone.permits WHERE vrm IN ({})",
        values.join(", ")
    ));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "0");
    assert!(server.alive());
}

#[test]
fn psql_copy_to_stdout_streams_the_query_as_csv() {
    let demo = Demo::new();
    let server = demo.serve();
    let sql = "\\copy (SELECT pcn, ward_code FROM parking_raw_zone.liberator_pcn_tickets_latest ORDER BY pcn LIMIT 5) TO STDOUT WITH CSV HEADER";
    let out = server.psql(&demo.parking_token(), "require", sql);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 6, "{text}");
    assert_eq!(lines[0], "pcn,ward_code");
    assert!(
        lines[1..]
            .iter()
            .all(|l| l.starts_with("HY") && l.contains(",E05")),
        "{text}"
    );
}

#[test]
fn psql_fetch_count_pages_through_a_cursor() {
    let demo = Demo::new();
    let server = demo.serve();
    let sql = "SELECT pcn FROM parking_raw_zone.liberator_pcn_tickets_latest";
    let out = server.psql_as(
        "token",
        &demo.parking_token(),
        "require",
        &["-v", "FETCH_COUNT=100", "-c", sql],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), ROWS / 7);
}

#[test]
fn ctrl_c_cancels_a_long_query_and_the_server_keeps_serving() {
    let demo = Demo::new();
    let server = demo.serve();
    let token = demo.parking_token();
    let tickets = "parking_raw_zone.liberator_pcn_tickets";
    let endless = format!("SELECT count(*) FROM {tickets} a, {tickets} b, {tickets} c");
    let child = server
        .psql_command("token", &token, "require", &["-c", &endless])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("psql starts");
    // Wait until the query runs: this principal then has two active connections, that one
    // and the one asking.
    let running = "SELECT count(*) FROM pg_stat_activity WHERE state = 'active'";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while stdout(&server.psql(&token, "require", running)).trim() != "2" {
        assert!(
            std::time::Instant::now() < deadline,
            "the query never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // What Ctrl-C sends: psql answers SIGINT with a CancelRequest.
    let signal = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(signal.success());
    let out = child.wait_with_output().expect("psql ends");
    assert!(
        stderr(&out).contains("canceling statement due to user request"),
        "{}",
        stderr(&out)
    );
    let after = server.psql(
        &token,
        "require",
        &format!("SELECT count(*) > 0 FROM {tickets}"),
    );
    assert_eq!(stdout(&after).trim(), "t", "{}", stderr(&after));
}
