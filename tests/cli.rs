//! The command line: `check`, `tables`, `token`, `--help`.

mod common;

use std::process::Command;

use common::{BIN, Demo, stderr, stdout};

fn run(args: &[&str], demo: &Demo) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .arg("--config")
        .arg(demo.config())
        .output()
        .expect("run lakegate")
}

#[test]
fn check_lists_zones_and_reports_drift_and_broken_files() {
    let demo = Demo::new();
    let out = run(&["check"], &demo);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("parking_raw_zone.liberator_pcn_tickets (7 files)"),
        "{text}"
    );
    assert!(text.contains("column `permit_id` widened"), "{text}");

    std::fs::write(
        demo.path("lake/raw/housing/tenancies/_catalog.toml"),
        "descripton = 1\n",
    )
    .expect("write");
    std::fs::write(
        demo.path("lake/raw/housing/repairs/import_year=2024/import_month=11/import_day=18/import_date=20241118/x.parquet"),
        b"garbage",
    )
    .expect("write");
    let out = run(&["check"], &demo);
    assert!(!out.status.success());
    let text = stdout(&out);
    assert!(text.contains("unreadable file"), "{text}");
    assert!(
        text.contains("_catalog.toml ignored") && text.contains("line 1"),
        "{text}"
    );
}

#[test]
fn tables_as_a_principal_shows_only_what_it_may_read() {
    let demo = Demo::new();
    let token = demo.public_token();
    let out = Command::new(BIN)
        .args(["tables", "--config"])
        .arg(demo.config())
        .args(["--as", &token])
        .output()
        .expect("run tables");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("unrestricted_raw_zone") && text.contains("wards"),
        "{text}"
    );
    assert!(!text.contains("parking"), "{text}");

    let out = run(&["tables"], &demo);
    let text = stdout(&out);
    assert!(
        text.contains("Vehicle registration mark [PII: vehicle_registration]"),
        "{text}"
    );
}

#[test]
fn every_subcommand_has_help() {
    for sub in ["demo", "serve", "token", "check", "tables"] {
        let out = Command::new(BIN)
            .args([sub, "--help"])
            .output()
            .expect("help");
        assert!(out.status.success());
        assert!(stdout(&out).contains("Usage: lakegate"), "{sub}");
    }
}
