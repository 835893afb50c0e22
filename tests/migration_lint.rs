//! End-to-end tests of the migration-safety lint, running the built binary on temporary
//! repositories: the original guard's defects (GUARDS-ORIGIN §4) with the right verdicts,
//! exact clause positions, PostgreSQL's syntax errors, verdicts that follow the target
//! PostgreSQL version, the additive-only switch and rollback files, suppressions, scope
//! (changed migrations vs `--all`, `*.sql.skip`), the runners' transaction modes, and hostile
//! files.

mod support;

use serde_json::Value;
use std::path::Path;
use support::{bin, repo, run};

/// Run `migration-safety` with `args` on `dir`; returns exit code and the gate's JSON.
fn lint(dir: &Path, args: &[&str]) -> (i32, Value) {
    let out = run(bin().arg("migration-safety").args(args).args([
        "--repo",
        dir.to_str().unwrap(),
        "--format",
        "json",
    ]));
    out.assert_gate_ran();
    let v = out.json();
    let mut gate = v["gates"][0].clone();
    // These runs have no database URL: the dry run's skip notice is not the lint's business.
    gate["findings"]
        .as_array_mut()
        .unwrap()
        .retain(|f| f["rule"] != "migration-safety/dry-run-skipped");
    (out.code, gate)
}

/// `(rule name, line)` of every finding of the migration-safety gate, sorted.
fn found(gate: &Value) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = gate["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("migration-safety/")
                    .to_string(),
                f["line"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    v.sort();
    v
}

fn pairs(expected: &[(&str, u64)]) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = expected.iter().map(|(r, l)| (r.to_string(), *l)).collect();
    v.sort();
    v
}

const MIG: &str = "supabase/migrations/20251021120000_change.sql";

#[test]
fn the_original_guards_defects_get_the_right_verdicts() {
    // Each line is one case of GUARDS-ORIGIN §4: false alarms that must pass, misses that must
    // be flagged.
    let sql = "\
SET lock_timeout = '5s';
-- ALTER TABLE t DROP COLUMN c
/* DROP TABLE orders; TRUNCATE orders; DELETE FROM orders; */
ALTER TABLE orders ALTER COLUMN note DROP DEFAULT;
ALTER TABLE orders ALTER COLUMN total TYPE numeric(14, 2);
ALTER TABLE orders RENAME COLUMN total TO amount;
ALTER TABLE orders ALTER COLUMN status SET NOT NULL;
DROP INDEX orders_status_idx;
DROP POLICY \"orders are private\" ON orders;
DROP FUNCTION order_total(bigint);
DROP VIEW order_totals;
UPDATE orders SET status = 'open';
DELETE FROM sessions;
DELETE FROM sessions WHERE expires_at < now();
CREATE INDEX orders_created_idx ON orders (created_at);
SELECT 'ALTER TABLE orders DROP COLUMN c' AS not_sql;
";
    let dir = repo(&[(MIG, sql)]);
    let (code, gate) = lint(dir.path(), &["--all"]);
    assert_eq!(code, 1);
    assert_eq!(
        found(&gate),
        pairs(&[
            ("change-column-type", 5),
            ("rename-column", 6),
            ("set-not-null", 7),
            ("drop-index-without-concurrently", 8),
            ("drop-object", 8),
            ("drop-object", 9),
            ("drop-object", 10),
            ("drop-object", 11),
            ("update-without-where", 12),
            ("delete-without-where", 13),
            ("create-index-without-concurrently", 15),
        ])
    );
    // Long locks: the same file without a lock_timeout.
    let dir = repo(&[(MIG, &sql.replacen("SET lock_timeout = '5s';", "", 1))]);
    let (_, gate) = lint(dir.path(), &["--all"]);
    assert!(found(&gate).contains(&("missing-lock-timeout".into(), 4)));
}

#[test]
fn findings_point_at_the_clause_with_character_columns() {
    let sql = "SET lock_timeout = '5s';\n/* é */ ALTER TABLE \"café\"\n  ADD COLUMN note text,\n  DROP COLUMN legacy,\n  ALTER COLUMN price TYPE numeric(10, 2) USING price::numeric(10, 2);\nCREATE TABLE t (id int PRIMARY KEY, at timestamp);\n";
    let dir = repo(&[(MIG, sql)]);
    let (_, gate) = lint(dir.path(), &["--all"]);
    let at = |rule: &str| {
        let f = gate["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == format!("migration-safety/{rule}"))
            .unwrap_or_else(|| panic!("no {rule} in {gate}"))
            .clone();
        (
            f["line"].as_u64().unwrap(),
            f["column"].as_u64().unwrap(),
            f["end_line"].as_u64().unwrap(),
            f["end_column"].as_u64().unwrap(),
        )
    };
    assert_eq!(at("drop-column"), (4, 3, 4, 20));
    assert_eq!(at("change-column-type"), (5, 3, 5, 68));
    assert_eq!(at("int-id-column"), (6, 20, 6, 22));
    assert_eq!(at("timestamp-without-time-zone"), (6, 40, 6, 48));
}

#[test]
fn a_file_that_does_not_parse_is_reported_with_postgresqls_message_and_position() {
    let bad = "CREATE TABLE a (id bigint);\n\n  ALTER TABLE a ADD COLUMN b int DEFAULT;\n";
    let do_block = "DO $$\nBEGIN\n  EXECUTE 'DROP TABLE orders';\nEND\n$$;\nCREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $body$ BEGIN DELETE FROM orders; RETURN NEW; END $body$;\n";
    let dir = repo(&[
        ("supabase/migrations/1_bad.sql", bad),
        ("supabase/migrations/2_do.sql", do_block),
        (
            "supabase/migrations/3_nul.sql",
            "SELECT 1;\0DROP TABLE orders;",
        ),
        (
            "supabase/migrations/5_bom.sql",
            "\u{feff}CREATE TABLE a (id bigint);\n",
        ),
        (
            "supabase/migrations/4_latin1.sql",
            "COMMENT ON TABLE orders IS 'caf\u{e9}';\n",
        ),
    ]);
    std::fs::write(
        dir.path().join("supabase/migrations/4_latin1.sql"),
        b"COMMENT ON TABLE orders IS 'caf\xe9';\n",
    )
    .unwrap();
    let (code, gate) = lint(dir.path(), &["--all"]);
    assert_eq!(code, 1);
    let f = &gate["findings"].as_array().unwrap();
    let syntax: Vec<&Value> = f
        .iter()
        .filter(|f| f["rule"] == "migration-safety/syntax-error")
        .collect();
    assert_eq!(syntax.len(), 3, "{gate}");
    assert_eq!(syntax[0]["path"], "supabase/migrations/1_bad.sql");
    assert_eq!(
        (syntax[0]["line"].as_u64(), syntax[0]["column"].as_u64()),
        (Some(3), Some(41))
    );
    assert!(
        syntax[0]["message"]
            .as_str()
            .unwrap()
            .contains("syntax error at or near \";\""),
        "{}",
        syntax[0]
    );
    assert_eq!(syntax[1]["path"], "supabase/migrations/3_nul.sql");
    assert!(syntax[1]["message"].as_str().unwrap().contains("NUL"));
    assert!(syntax[2]["message"]
        .as_str()
        .unwrap()
        .contains("byte-order mark"));
    // Bodies of DO blocks and functions are strings to the SQL grammar: no crash, no match.
    assert!(
        f.iter()
            .all(|f| f["path"] != "supabase/migrations/2_do.sql"),
        "{gate}"
    );
}

#[test]
fn verdicts_follow_the_target_postgresql_version() {
    let constant = "SET lock_timeout = '5s';\nALTER TABLE orders ADD COLUMN archived boolean NOT NULL DEFAULT false;\n";
    let dir = repo(&[(MIG, constant)]);
    for (version, flagged) in [("10", true), ("11", false), ("15", false), ("18", false)] {
        let (_, gate) = lint(dir.path(), &["--all", "--pg-version", version]);
        assert_eq!(
            found(&gate).contains(&("default-rewrites-table".into(), 2)),
            flagged,
            "PostgreSQL {version}: {gate}"
        );
    }
    // The volatile default rewrites on every version.
    let dir = repo(&[(MIG, "SET lock_timeout = '5s';\nALTER TABLE orders ADD COLUMN public_id uuid DEFAULT gen_random_uuid();\n")]);
    assert!(found(&lint(dir.path(), &["--all", "--pg-version", "17"]).1)
        .contains(&("default-rewrites-table".into(), 2)));

    // SET NOT NULL after a validated CHECK: scan-free from 12 on, from the config too.
    let three_step = "SET lock_timeout = '5s';\nALTER TABLE orders ADD CONSTRAINT s_nn CHECK (status IS NOT NULL) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT s_nn;\nALTER TABLE orders ALTER COLUMN status SET NOT NULL;\n";
    for (version, flagged) in [(11, true), (12, false)] {
        let dir = repo(&[
            (MIG, three_step),
            (
                ".github/merge-gates.toml",
                &format!("[migration-safety]\npostgres-version = {version}\n"),
            ),
        ]);
        let (_, gate) = lint(dir.path(), &["--all"]);
        assert_eq!(
            found(&gate).contains(&("set-not-null".into(), 4)),
            flagged,
            "PostgreSQL {version}: {gate}"
        );
        assert!(gate["notes"]
            .to_string()
            .contains(&format!("PostgreSQL {version}")));
    }
    // Not validated: flagged on every version.
    let dir = repo(&[(
        MIG,
        &three_step.replace("ALTER TABLE orders VALIDATE CONSTRAINT s_nn;\n", ""),
    )]);
    assert!(found(&lint(dir.path(), &["--all"]).1).contains(&("set-not-null".into(), 3)));

    let out = run(bin().args([
        "migration-safety",
        "--all",
        "--pg-version",
        "8",
        "--repo",
        dir.path().to_str().unwrap(),
    ]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("9 to 18"));
}

#[test]
fn additive_only_raises_policy_rules_rollbacks_are_exempt_and_rules_config_wins() {
    let forward = "SET lock_timeout = '5s';\nALTER TABLE orders RENAME COLUMN total TO amount;\nDROP TABLE legacy;\n";
    let rollback = "DROP TABLE refunds;\nALTER TABLE orders DROP COLUMN note;\nCREATE INDEX orders_note_idx ON orders (note);\n";
    let files = [
        ("supabase/migrations/20251021120000_forward.sql", forward),
        (
            "supabase/migrations/rollback_20251021120000_forward.sql",
            rollback,
        ),
    ];
    let severity = |gate: &Value, rule: &str| -> Vec<String> {
        gate["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == format!("migration-safety/{rule}"))
            .map(|f| {
                format!(
                    "{}:{}",
                    f["path"].as_str().unwrap().rsplit('/').next().unwrap(),
                    f["severity"].as_str().unwrap()
                )
            })
            .collect()
    };
    // Additive only is the default (the team's written policy): a rename is an error.
    let dir = repo(&files);
    let (_, gate) = lint(dir.path(), &["--all"]);
    assert_eq!(
        severity(&gate, "rename-column"),
        ["20251021120000_forward.sql:error"]
    );
    // `additive-only = false` relaxes it to the rule's own severity.
    let mut relaxed = files.to_vec();
    relaxed.push((
        ".github/merge-gates.toml",
        "[migration-safety]\nadditive-only = false\n",
    ));
    let dir = repo(&relaxed);
    let (_, gate) = lint(dir.path(), &["--all"]);
    assert_eq!(
        severity(&gate, "rename-column"),
        ["20251021120000_forward.sql:warning"]
    );
    assert_eq!(
        severity(&gate, "drop-table"),
        ["20251021120000_forward.sql:error"]
    );
    assert!(
        severity(&gate, "drop-column").is_empty(),
        "rollbacks are not held to the additive rule"
    );
    // Locking rules still apply to rollbacks.
    assert_eq!(
        severity(&gate, "create-index-without-concurrently"),
        ["rollback_20251021120000_forward.sql:warning"]
    );

    let mut strict = files.to_vec();
    let cfg = "[migration-safety]\nadditive-only = true\n\n[rules]\n\"migration-safety/drop-table\" = \"warning\"\n";
    strict.push((".github/merge-gates.toml", cfg));
    let dir = repo(&strict);
    let (_, gate) = lint(dir.path(), &["--all"]);
    assert_eq!(
        severity(&gate, "rename-column"),
        ["20251021120000_forward.sql:error"]
    );
    assert_eq!(
        severity(&gate, "drop-table"),
        ["20251021120000_forward.sql:warning"],
        "[rules] wins"
    );
}

#[test]
fn suppressions_cover_the_clause_line_and_need_a_reason() {
    let sql = "\
SET lock_timeout = '5s';
-- merge-gates-allow migration-safety/drop-table: unused since ENG-311, approved by @data
DROP TABLE legacy_orders;
ALTER TABLE orders
  ADD COLUMN note text,
  -- merge-gates-allow migration-safety/drop-column: approved in ENG-412
  DROP COLUMN legacy_status;
-- merge-gates-allow migration-safety/truncate-table
TRUNCATE sessions;
-- merge-gates-allow migration-safety/rename-table: nothing to rename here
CREATE TABLE x (id bigint PRIMARY KEY);
";
    let dir = repo(&[(MIG, sql)]);
    let (_, gate) = lint(dir.path(), &["--all"]);
    let rules: Vec<String> = gate["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{}:{}", f["rule"].as_str().unwrap(), f["line"]))
        .collect();
    let mut rules = rules;
    rules.sort();
    assert_eq!(
        rules,
        [
            "core/suppression-without-reason:8",
            "core/unused-suppression:10",
            "migration-safety/truncate-table:9",
        ],
        "{gate}"
    );
    let suppressed: Vec<&str> = gate["suppressed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["reason"].as_str().unwrap())
        .collect();
    assert_eq!(suppressed.len(), 2, "{gate}");
}

#[test]
fn only_the_prs_migrations_by_default_every_one_with_all_and_never_skip_files() {
    let dir = repo(&[
        ("supabase/migrations/20251001000000_old.sql", "DROP TABLE very_old;\n"),
        ("supabase/migrations/20251021120000_new.sql", "DROP TABLE legacy;\n"),
        ("supabase/migrations/20251021130000_off.sql.skip", "DROP TABLE skipped;\n"),
        ("prisma/migrations/20251021140000_init/migration.sql", "TRUNCATE carts;\n"),
        ("db/migrations/0003_cleanup.up.sql", "DELETE FROM carts;\n"),
        (
            "changed.txt",
            "supabase/migrations/20251021120000_new.sql\nsupabase/migrations/20251021130000_off.sql.skip\nprisma/migrations/20251021140000_init/migration.sql\n",
        ),
    ]);
    let changed = dir.path().join("changed.txt");
    let (_, gate) = lint(dir.path(), &["--changed-files", changed.to_str().unwrap()]);
    let paths = |gate: &Value| -> Vec<String> {
        let mut p: Vec<String> = gate["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| f["path"].as_str().map(String::from))
            .collect();
        p.sort();
        p.dedup();
        p
    };
    assert_eq!(
        paths(&gate),
        [
            "prisma/migrations/20251021140000_init/migration.sql",
            "supabase/migrations/20251021120000_new.sql"
        ]
    );
    let (_, gate) = lint(dir.path(), &["--all"]);
    assert_eq!(
        paths(&gate),
        [
            "prisma/migrations/20251021140000_init/migration.sql",
            "supabase/migrations/20251001000000_old.sql",
            "supabase/migrations/20251021120000_new.sql"
        ]
    );
    // Extra layouts by glob from the config.
    support::config(
        dir.path(),
        "[migration-safety]\nmigrations = [\"db/migrations/*.up.sql\"]\n",
    );
    let (_, gate) = lint(dir.path(), &["--all"]);
    assert!(paths(&gate).contains(&"db/migrations/0003_cleanup.up.sql".to_string()));
}

#[test]
fn tables_created_earlier_in_the_pr_are_not_existing_tables() {
    let files = [
        ("supabase/migrations/20251021120000_refunds.sql", "CREATE TABLE refunds (id bigint PRIMARY KEY, order_id bigint, reason text);\n"),
        (
            "supabase/migrations/20251021120100_refunds_idx.sql",
            "CREATE INDEX refunds_order_idx ON refunds (order_id);\nALTER TABLE refunds ALTER COLUMN reason SET NOT NULL;\nALTER TABLE refunds DROP COLUMN reason;\n",
        ),
        ("changed.txt", "supabase/migrations/20251021120000_refunds.sql\nsupabase/migrations/20251021120100_refunds_idx.sql\n"),
    ];
    let dir = repo(&files);
    let changed = dir.path().join("changed.txt");
    let (code, gate) = lint(dir.path(), &["--changed-files", changed.to_str().unwrap()]);
    assert_eq!((code, found(&gate)), (0, vec![]), "{gate}");
    // Linting the whole history, the table of an earlier migration holds data.
    let (_, gate) = lint(dir.path(), &["--all"]);
    let rules: Vec<String> = found(&gate).into_iter().map(|(r, _)| r).collect();
    for r in [
        "create-index-without-concurrently",
        "set-not-null",
        "drop-column",
        "missing-lock-timeout",
    ] {
        assert!(rules.contains(&r.to_string()), "{r}: {gate}");
    }
    // CREATE TABLE IF NOT EXISTS may be a no-op on an existing table: not "new".
    let dir = repo(&[(MIG, "CREATE TABLE IF NOT EXISTS orders (id bigint PRIMARY KEY);\nCREATE INDEX orders_idx ON orders (id);\n")]);
    assert!(found(&lint(dir.path(), &["--all"]).1)
        .contains(&("create-index-without-concurrently".into(), 2)));
}

#[test]
fn concurrently_follows_how_the_runner_sends_the_file() {
    let alone = "CREATE INDEX CONCURRENTLY orders_status_idx ON orders (status);\n";
    let with_others = "SET lock_timeout = '5s';\nCREATE INDEX CONCURRENTLY orders_status_idx ON orders (status);\n";
    let prisma = "prisma/migrations/20251021120000_idx/migration.sql";
    let verdict = |text: &str, cfg: Option<&str>| -> bool {
        let mut files = vec![(prisma, text)];
        if let Some(c) = cfg {
            files.push((".github/merge-gates.toml", c));
        }
        let dir = repo(&files);
        found(&lint(dir.path(), &["--all"]).1)
            .iter()
            .any(|(r, _)| r == "concurrently-in-transaction")
    };
    // Default `one-query` (Prisma Migrate): one implicit transaction once the file has two statements.
    assert!(!verdict(alone, None));
    assert!(verdict(with_others, None));
    assert!(verdict(&format!("BEGIN;\n{alone}COMMIT;\n"), None));
    let none = "[migration-safety]\ntransaction = \"none\"\n";
    assert!(!verdict(with_others, Some(none)));
    assert!(verdict(&format!("BEGIN;\n{alone}COMMIT;\n"), Some(none)));
    assert!(!verdict(
        &format!("BEGIN;\nSELECT 1;\nCOMMIT;\n{alone}"),
        Some(none)
    ));
    assert!(verdict(
        alone,
        Some("[migration-safety]\ntransaction = \"wrapped\"\n")
    ));
    for other in [
        "DROP INDEX CONCURRENTLY orders_status_idx;",
        "REINDEX INDEX CONCURRENTLY orders_status_idx;",
    ] {
        assert!(
            verdict(&format!("BEGIN;\n{other}\nCOMMIT;\n"), None),
            "{other}"
        );
    }
}

#[test]
fn lock_timeout_counts_only_when_set_to_a_non_zero_value_before_the_lock() {
    let cases = [
        (
            "ALTER INDEX orders_idx SET (fillfactor = 70);\nALTER VIEW v OWNER TO app;\n",
            false,
        ),
        ("SET lock_timeout = '5s';\nALTER TABLE orders ADD COLUMN a text;\n", false),
        ("SET LOCAL lock_timeout TO 2000;\nALTER TABLE orders ADD COLUMN a text;\n", false),
        ("SELECT set_config('lock_timeout', '3s', false);\nALTER TABLE orders ADD COLUMN a text;\n", false),
        ("SET lock_timeout = 0;\nALTER TABLE orders ADD COLUMN a text;\n", true),
        ("SET lock_timeout = '5s';\nRESET lock_timeout;\nALTER TABLE orders ADD COLUMN a text;\n", true),
        ("ALTER TABLE orders ADD COLUMN a text;\nSET lock_timeout = '5s';\n", true),
        ("CREATE TABLE refunds (id bigint PRIMARY KEY, order_id bigint REFERENCES orders (id));\n", true),
        ("CREATE TABLE refunds (id bigint PRIMARY KEY);\nALTER TABLE refunds ADD COLUMN a text;\n", false),
    ];
    for (sql, flagged) in cases {
        let dir = repo(&[(MIG, sql)]);
        let got = found(&lint(dir.path(), &["--all"]).1)
            .iter()
            .any(|(r, _)| r == "missing-lock-timeout");
        assert_eq!(got, flagged, "{sql}");
    }
}

#[test]
fn prisma_migrations_get_fixes_in_prisma_terms() {
    // What `prisma migrate dev` generates for `id Int @id @default(autoincrement())` and
    // `expires DateTime?`; the table-level PRIMARY KEY makes `id` an id column.
    let sql = "-- CreateTable\nCREATE TABLE \"Session\" (\n    \"id\" SERIAL NOT NULL,\n    \"expires\" TIMESTAMP(3),\n\n    CONSTRAINT \"Session_pkey\" PRIMARY KEY (\"id\")\n);\n";
    let dir = repo(&[("prisma/migrations/20251021120000_init/migration.sql", sql)]);
    let (_, gate) = lint(dir.path(), &["--all"]);
    assert_eq!(
        found(&gate),
        pairs(&[("int-id-column", 3), ("timestamp-without-time-zone", 4)])
    );
    let helps: Vec<&str> = gate["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["help"].as_str().unwrap())
        .collect();
    assert!(
        helps.iter().all(|h| h.contains("prisma/schema.prisma")),
        "{helps:?}"
    );
    assert!(helps.iter().any(|h| h.contains("@db.Timestamptz(3)")));
}

/// A migration over 256 KiB is parsed and linted a piece of statements at a time (its whole
/// tree would take ~200 times its size): the findings, lines and columns are those of a
/// whole-file parse, state carries across pieces (`lock_timeout` set once at the top), and a
/// syntax error in the last piece still means nothing in the file is linted.
#[test]
fn a_large_migration_is_linted_in_pieces_with_the_same_findings() {
    let mut sql = String::from("SET lock_timeout = '2s';\n");
    let n = 12_000;
    for i in 0..n {
        // Names with `;` inside quotes and comments: the scanner, not a `;` split, cuts pieces.
        sql.push_str(&format!(
            "/* x; */ CREATE TABLE \"t;{i}\" (id int);\nALTER TABLE users RENAME COLUMN a{i} TO b{i}; -- ;\n"
        ));
    }
    assert!(sql.len() > 512 << 10);
    let dir = repo(&[("supabase/migrations/20251021000000_big.sql", &sql)]);
    let (_, gate) = lint(dir.path(), &["--all"]);
    let f = found(&gate);
    let at = |rule: &str| {
        f.iter()
            .filter(|(r, _)| r == rule)
            .map(|(_, l)| *l)
            .collect::<Vec<_>>()
    };
    let ints = at("int-id-column");
    let renames = at("rename-column");
    assert_eq!(ints.len(), n);
    assert_eq!(renames.len(), n);
    assert!(ints
        .iter()
        .zip(renames.iter())
        .all(|(a, b)| b == &(a + 1) && a % 2 == 0));
    assert_eq!((ints[0], *renames.last().unwrap()), (2, 2 * n as u64 + 1));
    assert!(at("missing-lock-timeout").is_empty(), "{f:?}");
    let last = gate["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["rule"] == "migration-safety/int-id-column" && x["line"] == 2 * n as u64)
        .unwrap()
        .clone();
    let col = format!("/* x; */ CREATE TABLE \"t;{}\" (id ", n - 1)
        .chars()
        .count() as u64
        + 1;
    assert_eq!(last["column"], col, "{last}");

    sql.push_str("SELEC 1;\n");
    let dir = repo(&[("supabase/migrations/20251021000000_big.sql", &sql)]);
    let (_, gate) = lint(dir.path(), &["--all"]);
    let f: Vec<_> = found(&gate)
        .into_iter()
        .filter(|(r, _)| r != "dry-run-skipped")
        .collect();
    assert_eq!(
        f,
        [("syntax-error".to_string(), 2 * n as u64 + 2)],
        "{gate}"
    );
}
