//! End-to-end tests of the migration-safety lint, running the built binary on temporary
//! repositories: the original guard's defects (GUARDS-ORIGIN §4) with the right verdicts,
//! exact clause positions, PostgreSQL's syntax errors, verdicts that follow the target
//! PostgreSQL version, the additive-only switch and rollback files, suppressions, scope
//! (changed migrations vs `--all`, `*.sql.skip`), the runners' transaction modes, and hostile
//! files.

mod support;

use serde_json::Value;
use std::path::Path;
use std::process::Command;
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
ALTER TABLE x ENABLE ROW LEVEL SECURITY;
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
            "CREATE INDEX refunds_order_idx ON refunds (order_id);\nALTER TABLE refunds ALTER COLUMN reason SET NOT NULL;\nALTER TABLE refunds DROP COLUMN reason;\nALTER TABLE refunds ENABLE ROW LEVEL SECURITY;\n",
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
        pairs(&[
            ("int-id-column", 3),
            ("table-without-rls", 2),
            ("timestamp-without-time-zone", 4)
        ])
    );
    let helps: Vec<&str> = gate["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["help"].as_str().unwrap())
        .collect();
    assert!(
        helps
            .iter()
            .all(|h| h.contains("prisma/schema.prisma") || h.contains("migration.sql")),
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

/// The schema every case of the lock test starts from: tables, indexes, constraints, a
/// trigger, a policy and a materialized view that the statements lock.
const LOCK_SETUP: &str = "
CREATE TABLE users (id bigint PRIMARY KEY, email text, n int, created_at timestamptz);
CREATE INDEX users_email_idx ON users (email);
ALTER TABLE users CLUSTER ON users_pkey;
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint, total int, status text);
ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total > 0) NOT VALID;
ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;
CREATE TABLE logs (id bigint);
CREATE MATERIALIZED VIEW order_totals AS SELECT user_id, sum(total) AS total FROM orders GROUP BY user_id;
CREATE UNIQUE INDEX order_totals_user_idx ON order_totals (user_id);
CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER orders_noop AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION noop();
CREATE POLICY users_all ON users USING (true);
";

/// Every statement kind the lint's lock table knows, in the spellings it reads; `true` marks
/// those PostgreSQL refuses inside a transaction block.
const LOCK_CASES: &[(&str, bool)] = &[
    ("ALTER TABLE orders ADD COLUMN note text", false),
    ("ALTER TABLE orders ALTER COLUMN status SET NOT NULL", false),
    ("ALTER TABLE orders ADD CONSTRAINT orders_n CHECK (total < 100)", false),
    ("ALTER TABLE orders ADD CONSTRAINT orders_user_fk2 FOREIGN KEY (user_id) REFERENCES users (id)", false),
    ("ALTER TABLE orders ADD CONSTRAINT orders_user_fk2 FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID", false),
    ("ALTER TABLE orders ADD COLUMN buyer_id bigint REFERENCES users (id)", false),
    ("ALTER TABLE orders VALIDATE CONSTRAINT orders_total_positive", false),
    ("ALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk", false),
    ("ALTER TABLE orders ALTER COLUMN status SET STATISTICS 200", false),
    ("ALTER TABLE orders SET (fillfactor = 90)", false),
    ("ALTER TABLE orders DISABLE TRIGGER orders_noop", false),
    ("ALTER TABLE orders ENABLE TRIGGER orders_noop", false),
    ("ALTER TABLE users CLUSTER ON users_email_idx", false),
    ("ALTER TABLE orders RENAME COLUMN status TO state", false),
    ("ALTER TABLE logs RENAME TO journal", false),
    ("ALTER INDEX users_email_idx RENAME TO users_mail_idx", false),
    ("CREATE INDEX orders_status_idx ON orders (status)", false),
    ("CREATE INDEX CONCURRENTLY orders_status_idx ON orders (status)", true),
    ("CREATE TABLE invoices (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id))", false),
    ("DROP TABLE logs", false),
    ("DROP INDEX users_email_idx", false),
    ("DROP INDEX CONCURRENTLY users_email_idx", true),
    ("DROP TRIGGER orders_noop ON orders", false),
    ("DROP POLICY users_all ON users", false),
    ("TRUNCATE logs", false),
    ("CREATE TRIGGER orders_noop2 AFTER UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION noop()", false),
    ("CREATE POLICY orders_all ON orders USING (true)", false),
    ("ALTER POLICY users_all ON users USING (false)", false),
    ("LOCK TABLE users IN ACCESS SHARE MODE", false),
    ("LOCK TABLE users IN ROW EXCLUSIVE MODE", false),
    ("LOCK TABLE users IN SHARE UPDATE EXCLUSIVE MODE", false),
    ("LOCK TABLE users IN SHARE MODE", false),
    ("LOCK TABLE users IN EXCLUSIVE MODE", false),
    ("LOCK users", false),
    ("COMMENT ON TABLE users IS 'people'", false),
    ("CLUSTER users USING users_pkey", false),
    ("CLUSTER users", false),
    ("VACUUM users", true),
    ("VACUUM FULL users", true),
    ("VACUUM (FULL) users", true),
    ("VACUUM (FULL true, ANALYZE) users", true),
    ("VACUUM (FULL 0) users", true),
    ("VACUUM (FULL off) users", true),
    ("REINDEX INDEX users_email_idx", false),
    ("REINDEX TABLE users", false),
    ("REINDEX (CONCURRENTLY false) TABLE users", false),
    ("REINDEX (CONCURRENTLY 'off') INDEX users_email_idx", false),
    ("REINDEX (CONCURRENTLY 0) INDEX users_email_idx", false),
    ("REINDEX INDEX CONCURRENTLY users_email_idx", true),
    ("REINDEX (CONCURRENTLY on) TABLE users", true),
    ("REFRESH MATERIALIZED VIEW order_totals", false),
    ("REFRESH MATERIALIZED VIEW CONCURRENTLY order_totals", false),
];

/// PostgreSQL's lock mode names (`pg_locks.mode`), weakest first.
const PG_MODES: [(&str, &str); 8] = [
    ("AccessShareLock", "ACCESS SHARE"),
    ("RowShareLock", "ROW SHARE"),
    ("RowExclusiveLock", "ROW EXCLUSIVE"),
    ("ShareUpdateExclusiveLock", "SHARE UPDATE EXCLUSIVE"),
    ("ShareLock", "SHARE"),
    ("ShareRowExclusiveLock", "SHARE ROW EXCLUSIVE"),
    ("ExclusiveLock", "EXCLUSIVE"),
    ("AccessExclusiveLock", "ACCESS EXCLUSIVE"),
];

fn rank(mode: &str) -> usize {
    PG_MODES
        .iter()
        .position(|(pg, sql)| *pg == mode || *sql == mode)
        .unwrap_or_else(|| panic!("unknown lock mode {mode}"))
}

/// Whether a lock of `rank` on a relation of `relkind` makes ordinary queries wait: SELECT
/// waits for ACCESS EXCLUSIVE, INSERT/UPDATE/DELETE for SHARE and stronger (a materialized
/// view is only read).
fn blocking(rank: usize, relkind: &str) -> bool {
    match relkind {
        "m" => rank == 7,
        _ => rank >= 4,
    }
}

#[test]
fn the_lock_table_agrees_with_postgresqls_pg_locks() {
    use std::collections::BTreeMap;
    // What the lint claims: one migration file per case; `missing-lock-timeout` names every
    // blocking lock of the statement on an existing relation (none: it claims nothing blocks).
    let files: Vec<(String, String)> = LOCK_CASES
        .iter()
        .enumerate()
        .map(|(i, (sql, _))| {
            (
                format!("supabase/migrations/2025102112{i:04}_case.sql"),
                format!("{sql};\n"),
            )
        })
        .collect();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let dir = repo(&refs);
    let (_, gate) = lint(dir.path(), &["--all"]);
    let claim_re =
        regex::Regex::new(r"an? ([A-Z ]+?) lock on (index |the indexes of )?`([^`]+)`").unwrap();
    let mut claims: Vec<Vec<(String, String, usize)>> = vec![Vec::new(); LOCK_CASES.len()];
    for f in gate["findings"].as_array().unwrap() {
        if f["rule"] != "migration-safety/missing-lock-timeout" {
            continue;
        }
        let path = f["path"].as_str().unwrap();
        let i = files.iter().position(|(p, _)| p == path).unwrap();
        let msg = f["message"].as_str().unwrap();
        let head = msg.split(" and no `lock_timeout`").next().unwrap();
        for c in claim_re.captures_iter(head) {
            claims[i].push((
                c.get(2).map_or("", |m| m.as_str()).trim().to_string(),
                c[3].to_string(),
                rank(&c[1]),
            ));
        }
    }

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let url = std::env::var("MERGE_GATES_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let db = format!("merge_gates_locks_{}", std::process::id());
    let connect = |url: String| async move {
        let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("this test needs a PostgreSQL at {url}: {e}"));
        tokio::spawn(conn);
        c
    };
    let mut report = Vec::new();
    let mut disagree = Vec::new();
    rt.block_on(async {
        let admin = connect(url.clone()).await;
        // One statement a call: DROP/CREATE DATABASE refuse a multi-statement batch.
        for sql in [
            format!("DROP DATABASE IF EXISTS {db}"),
            format!("CREATE DATABASE {db}"),
        ] {
            admin.batch_execute(&sql).await.unwrap();
        }
        let db_url = match url.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{db}"),
            None => panic!("bad database URL {url}"),
        };
        for (i, (sql, outside)) in LOCK_CASES.iter().enumerate() {
            let watcher = connect(db_url.clone()).await;
            watcher
                .batch_execute(&format!(
                    "DROP SCHEMA public CASCADE; CREATE SCHEMA public; {LOCK_SETUP}"
                ))
                .await
                .unwrap();
            // Relations that exist before the statement, with the table an index belongs to.
            let mut table_of: BTreeMap<u32, (String, String)> = BTreeMap::new();
            let mut by_name: BTreeMap<String, String> = BTreeMap::new();
            for r in watcher
                .query(
                    "SELECT c.oid, c.relname::text, coalesce(t.relname, c.relname)::text, coalesce(t.relkind, c.relkind)::text
                     FROM pg_class c LEFT JOIN pg_index x ON x.indexrelid = c.oid LEFT JOIN pg_class t ON t.oid = x.indrelid
                     WHERE c.relnamespace = 'public'::regnamespace",
                    &[],
                )
                .await
                .unwrap()
            {
                table_of.insert(r.get(0), (r.get(2), r.get(3)));
                by_name.insert(r.get(1), r.get(2));
            }
            let runner = connect(db_url.clone()).await;
            let pid: i32 = runner
                .query_one("SELECT pg_backend_pid()", &[])
                .await
                .unwrap()
                .get(0);
            let blocker = connect(db_url.clone()).await;
            let run = if *outside {
                // It cannot run in a transaction: hold a ROW EXCLUSIVE lock so that a
                // blocking statement waits, and read its (granted or awaited) locks then.
                blocker
                    .batch_execute("BEGIN; LOCK TABLE users, orders IN ROW EXCLUSIVE MODE")
                    .await
                    .unwrap();
                let sql = sql.to_string();
                tokio::spawn(async move {
                    let r = runner.batch_execute(&sql).await;
                    (runner, r)
                })
            } else {
                let sql = format!("BEGIN; {sql}");
                tokio::spawn(async move {
                    let r = runner.batch_execute(&sql).await;
                    (runner, r)
                })
            };
            let mut seen: BTreeMap<u32, usize> = BTreeMap::new();
            let mut waited = false;
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            loop {
                // Read before looking at the locks: a statement that finishes between the two
                // still holds its locks (idle in transaction) when they are read.
                let finished = run.is_finished();
                let rows = watcher
                    .query(
                        "SELECT relation, mode::text, granted, (SELECT state FROM pg_stat_activity WHERE pid = $1)::text
                         FROM pg_locks WHERE pid = $1 AND locktype = 'relation' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                        &[&pid],
                    )
                    .await
                    .unwrap();
                // A wait on anything (a relation, or the blocker's transaction as CONCURRENTLY
                // waits) ends the watch, but only once the rows were read after it began: the
                // statement may start to wait between the two queries (seen under load).
                let waits_on_anything = watcher
                    .query_one(
                        "SELECT count(*) FROM pg_locks WHERE pid = $1 AND NOT granted",
                        &[&pid],
                    )
                    .await
                    .unwrap()
                    .get::<_, i64>(0)
                    > 0;
                if waits_on_anything && !waited {
                    waited = true;
                    continue;
                }
                let mut waiting = waits_on_anything;
                let mut idle = false;
                for r in &rows {
                    let oid: u32 = r.get(0);
                    let m = rank(r.get::<_, &str>(1));
                    let e = seen.entry(oid).or_insert(m);
                    *e = (*e).max(m);
                    waiting |= !r.get::<_, bool>(2);
                    idle |= r.get::<_, Option<&str>>(3) == Some("idle in transaction");
                }
                if waiting || idle || finished || std::time::Instant::now() > deadline {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            blocker.batch_execute("ROLLBACK").await.ok();
            let (runner, result) = run.await.unwrap();
            if let Err(e) = result {
                panic!("`{sql}` failed on PostgreSQL: {e}");
            }
            runner.batch_execute("ROLLBACK").await.ok();
            // Observed: the strongest lock per table (an index's lock counts for its table),
            // where it blocks ordinary queries.
            let mut observed: BTreeMap<String, usize> = BTreeMap::new();
            for (oid, m) in &seen {
                if let Some((table, kind)) = table_of.get(oid) {
                    if blocking(*m, kind) {
                        let e = observed.entry(table.clone()).or_insert(*m);
                        *e = (*e).max(*m);
                    }
                }
            }
            let mut claimed: BTreeMap<String, usize> = BTreeMap::new();
            for (what, name, m) in &claims[i] {
                // An index's lock is claimed for the table it belongs to.
                let table = match what.as_str() {
                    "index" => by_name.get(name).cloned().unwrap_or_else(|| name.clone()),
                    _ => name.clone(),
                };
                let e = claimed.entry(table).or_insert(*m);
                *e = (*e).max(*m);
            }
            let show = |m: &BTreeMap<String, usize>| {
                if m.is_empty() {
                    "nothing blocking".to_string()
                } else {
                    m.iter()
                        .map(|(t, r)| format!("{} on {t}", PG_MODES[*r].1))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            };
            report.push(format!(
                "{sql:<96} pg_locks: {:<40} lint: {}",
                show(&observed),
                show(&claimed)
            ));
            if observed != claimed {
                disagree.push(format!(
                    "`{sql}`: PostgreSQL took {}, the lint claims {}",
                    show(&observed),
                    show(&claimed)
                ));
            }
        }
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
            .await
            .unwrap();
    });
    println!("{}", report.join("\n"));
    assert!(disagree.is_empty(), "{}", disagree.join("\n"));
}

#[test]
fn set_not_null_after_a_validated_check_in_the_file_or_an_earlier_migration_passes_on_12_and_later()
{
    let earlier = "SET lock_timeout = '5s';\nALTER TABLE orders ADD CONSTRAINT orders_status_nn CHECK (status IS NOT NULL) NOT VALID;\n";
    let validate =
        "SET lock_timeout = '5s';\nALTER TABLE orders VALIDATE CONSTRAINT orders_status_nn;\n";
    let pr = "SET lock_timeout = '5s';\nALTER TABLE orders ALTER COLUMN status SET NOT NULL;\n";
    let dir = repo(&[
        ("supabase/migrations/20251001000000_check.sql", earlier),
        ("supabase/migrations/20251002000000_validate.sql", validate),
        ("supabase/migrations/20251021120000_not_null.sql", pr),
        // A migration after the PR's: not history the PR builds on.
        (
            "supabase/migrations/20251101000000_later.sql",
            "ALTER TABLE orders ADD CONSTRAINT orders_total_nn CHECK (total IS NOT NULL);\n",
        ),
        (
            "changed.txt",
            "supabase/migrations/20251021120000_not_null.sql\n",
        ),
    ]);
    let changed = dir.path().join("changed.txt");
    let changed = changed.to_str().unwrap();
    let (_, gate) = lint(dir.path(), &["--changed-files", changed]);
    assert_eq!(found(&gate), pairs(&[]), "{gate}");
    // PostgreSQL 11 scans the table even with the validated CHECK.
    let (_, gate) = lint(
        dir.path(),
        &["--changed-files", changed, "--pg-version", "11"],
    );
    assert_eq!(found(&gate), pairs(&[("set-not-null", 2)]));
    // Without the VALIDATE, the CHECK proves nothing; a later migration's CHECK does not count.
    std::fs::remove_file(
        dir.path()
            .join("supabase/migrations/20251002000000_validate.sql"),
    )
    .unwrap();
    let (_, gate) = lint(dir.path(), &["--changed-files", changed]);
    assert_eq!(found(&gate), pairs(&[("set-not-null", 2)]));
    let later = pr.replace("status", "total");
    std::fs::write(
        dir.path()
            .join("supabase/migrations/20251021120000_not_null.sql"),
        later,
    )
    .unwrap();
    let (_, gate) = lint(dir.path(), &["--changed-files", changed]);
    assert_eq!(found(&gate), pairs(&[("set-not-null", 2)]));
    // In the same file, validated directly or in two steps.
    for sql in [
        "SET lock_timeout = '5s';\nALTER TABLE orders ADD CONSTRAINT c CHECK (status IS NOT NULL);\nALTER TABLE orders ALTER COLUMN status SET NOT NULL;\n",
        "SET lock_timeout = '5s';\nALTER TABLE public.orders ADD CHECK (\"status\" IS NOT NULL) NOT VALID;\nCOMMIT;\nALTER TABLE orders VALIDATE CONSTRAINT orders_status_check;\nALTER TABLE orders ALTER status SET NOT NULL;\n",
    ] {
        let dir = repo(&[(MIG, sql)]);
        let (_, gate) = lint(dir.path(), &["--all"]);
        assert!(
            !found(&gate).iter().any(|(r, _)| r == "set-not-null"),
            "{sql}: {:?}",
            found(&gate)
        );
    }
}

#[test]
fn missing_lock_timeout_covers_every_blocking_statement_and_only_those() {
    let flagged = [
        "CREATE TABLE invoices (id bigint, user_id bigint);\nALTER TABLE invoices ADD CONSTRAINT invoices_user_fk FOREIGN KEY (user_id) REFERENCES users (id);",
        "CREATE TABLE invoices (id bigint, user_id bigint);\nALTER TABLE invoices ADD CONSTRAINT invoices_user_fk FOREIGN KEY (user_id) REFERENCES public.users (id) NOT VALID;",
        "CLUSTER users USING users_pkey;",
        "CLUSTER users;",
        "VACUUM FULL users;",
        "VACUUM (FULL) users;",
        "VACUUM (FULL true) users;",
        "VACUUM (FULL 1, ANALYZE) users;",
        "VACUUM (full ON) users;",
        "REFRESH MATERIALIZED VIEW order_totals;",
        "REINDEX INDEX users_email_idx;",
        "REINDEX TABLE users;",
        "REINDEX (CONCURRENTLY false) TABLE users;",
        "REINDEX (CONCURRENTLY 'false') INDEX users_email_idx;",
        "REINDEX (CONCURRENTLY off) INDEX users_email_idx;",
        "REINDEX (CONCURRENTLY 0) INDEX users_email_idx;",
        "REINDEX (CONCURRENTLY FALSE, VERBOSE) TABLE users;",
        "LOCK TABLE users IN SHARE MODE;",
        "LOCK users;",
        "DROP INDEX users_email_idx;",
    ];
    let passing = [
        "LOCK TABLE users IN ACCESS SHARE MODE;",
        "LOCK TABLE users IN ROW EXCLUSIVE MODE;",
        "COMMENT ON TABLE users IS 'people';",
        "ALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk;",
        "CREATE INDEX CONCURRENTLY users_created_idx ON users (created_at);",
        "REINDEX INDEX CONCURRENTLY users_email_idx;",
        "REINDEX (CONCURRENTLY) TABLE users;",
        "REINDEX (CONCURRENTLY 'on') TABLE users;",
        "REFRESH MATERIALIZED VIEW CONCURRENTLY order_totals;",
        "VACUUM users;",
        "VACUUM (FULL false) users;",
        "VACUUM (FULL 0) users;",
        "VACUUM (FULL 'off', ANALYZE) users;",
        "ALTER TABLE orders SET (fillfactor = 90);",
        "DROP INDEX CONCURRENTLY users_email_idx;",
        "CREATE TABLE a (id bigint PRIMARY KEY);\nCREATE TABLE b (a_id bigint);\nALTER TABLE b ADD CONSTRAINT b_a_fk FOREIGN KEY (a_id) REFERENCES a (id);",
    ];
    for (sqls, expect) in [(&flagged[..], true), (&passing[..], false)] {
        for sql in sqls {
            let dir = repo(&[(MIG, sql)]);
            let (_, gate) = lint(dir.path(), &["--all"]);
            let hit = found(&gate)
                .iter()
                .any(|(r, _)| r == "missing-lock-timeout");
            assert_eq!(hit, expect, "{sql}: {:?}", found(&gate));
        }
    }
}

/// A migration's SQL, the runner's transaction mode (`None`: the default), and the findings
/// expected (rule, line).
type TxCase<'a> = (&'a str, Option<&'a str>, &'a [(&'a str, u64)]);

#[test]
fn transactions_a_file_opens_nests_or_leaves_open_and_validation_under_the_adds_lock() {
    let cases: &[TxCase] = &[
        ("BEGIN;\nSET LOCAL lock_timeout = '5s';\nALTER TABLE orders ADD COLUMN note text;\n", None, &[("uncommitted-transaction", 1)]),
        ("SET lock_timeout = '5s';\nBEGIN;\nSTART TRANSACTION;\nALTER TABLE orders ADD COLUMN note text;\nCOMMIT;\n", None, &[("nested-transaction", 3)]),
        ("BEGIN;\nSET LOCAL lock_timeout = '5s';\nALTER TABLE orders ADD COLUMN note text;\nCOMMIT;\n", Some("wrapped"), &[("nested-transaction", 1)]),
        ("BEGIN;\nSET LOCAL lock_timeout = '5s';\nALTER TABLE orders ADD COLUMN note text;\nCOMMIT;\n", None, &[]),
        ("BEGIN;\nSET LOCAL lock_timeout = '5s';\nALTER TABLE orders ADD COLUMN note text;\nCOMMIT;\n", Some("none"), &[]),
        // NOT VALID, then VALIDATE: in one implicit transaction (one-query, the default) …
        ("SET lock_timeout = '5s';\nALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT fk;\n", None, &[("validate-in-same-transaction", 3)]),
        // … in the runner's transaction, in an explicit one, …
        ("SET lock_timeout = '5s';\nALTER TABLE orders ADD CONSTRAINT c CHECK (total > 0) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT c;\n", Some("wrapped"), &[("validate-in-same-transaction", 3)]),
        ("SET lock_timeout = '5s';\nBEGIN;\nALTER TABLE orders ADD CONSTRAINT c CHECK (total > 0) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT c;\nCOMMIT;\n", Some("none"), &[("validate-in-same-transaction", 4)]),
        // … but not when each statement commits on its own, or a COMMIT comes between.
        ("SET lock_timeout = '5s';\nALTER TABLE orders ADD CONSTRAINT c CHECK (total > 0) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT c;\n", Some("none"), &[]),
        ("SET lock_timeout = '5s';\nBEGIN;\nALTER TABLE orders ADD CONSTRAINT c CHECK (total > 0) NOT VALID;\nCOMMIT;\nALTER TABLE orders VALIDATE CONSTRAINT c;\n", Some("none"), &[]),
        ("SET lock_timeout = '5s';\nALTER TABLE orders ADD CONSTRAINT c CHECK (total > 0) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT other;\n", None, &[]),
    ];
    for (sql, mode, expect) in cases {
        let mut files = vec![(MIG, *sql)];
        let config = mode.map(|m| format!("[migration-safety]\ntransaction = \"{m}\"\n"));
        if let Some(c) = &config {
            files.push((".github/merge-gates.toml", c.as_str()));
        }
        let dir = repo(&files);
        let (_, gate) = lint(dir.path(), &["--all"]);
        assert_eq!(found(&gate), pairs(expect), "{mode:?}\n{sql}");
    }
}

/// Names resolve as PostgreSQL resolves them: a temporary table shadows the base table of the
/// same name, and `search_path` decides where an unqualified name goes. Before, each of these
/// dropped the base `users` table with no finding, the lint taking it for the PR's own.
#[test]
fn names_resolve_as_postgresql_does() {
    let drops = |sql: &str| -> Vec<u64> {
        let dir = repo(&[(MIG, sql)]);
        let (_, gate) = lint(dir.path(), &["--all"]);
        found(&gate)
            .into_iter()
            .filter(|(r, _)| r == "drop-table")
            .map(|(_, line)| line)
            .collect()
    };
    let hostile = [
        // The second DROP drops `public.users`.
        (
            "CREATE TEMP TABLE users (id int);\nDROP TABLE users;\nDROP TABLE users;\n",
            vec![2, 3],
        ),
        // `users` was created in `x`; the DROP after the path is reset drops `public.users`.
        (
            "CREATE SCHEMA x;\nSET search_path = x;\nCREATE TABLE users (id int);\nSET search_path = public;\nDROP TABLE users;\n",
            vec![5],
        ),
        // The PR's own `public.users`, then a path change: the DROP drops `x.users`.
        (
            "CREATE TABLE users (id int);\nSELECT set_config('search_path', 'x', false);\nDROP TABLE users;\n",
            vec![3],
        ),
    ];
    for (sql, lines) in hostile {
        assert_eq!(drops(sql), lines, "{sql}");
    }
    // What the PR creates and drops by a name that cannot mean anything else is its own.
    for sql in [
        "CREATE TABLE scratch (id int);\nDROP TABLE scratch;\n",
        "CREATE SCHEMA x;\nSET search_path = x;\nCREATE TABLE x.users (id int);\nDROP TABLE x.users;\n",
    ] {
        assert_eq!(drops(sql), Vec::<u64>::new(), "{sql}");
    }
}

/// Valid SQL is never a syntax error: a view of 60 `||` terms (which a decoder limit of 100
/// levels refused, failing the whole file for good) is linted, and a statement deeper than
/// libpg_query can hand over is a `statement-too-complex` warning on that statement alone,
/// with the rest of the file linted.
#[test]
fn valid_deep_sql_is_never_a_syntax_error() {
    let chain = |n: usize| vec!["'a'"; n].join(" || ");
    let sql = format!(
        "CREATE VIEW v AS SELECT {} AS s;\nDROP TABLE t;\n",
        chain(60)
    );
    let dir = repo(&[(MIG, &sql)]);
    let (_, gate) = lint(dir.path(), &["--all"]);
    let rules: Vec<String> = found(&gate).into_iter().map(|(r, _)| r).collect();
    assert!(!rules.iter().any(|r| r == "syntax-error"), "{rules:?}");
    assert!(rules.iter().any(|r| r == "drop-table"), "{rules:?}");
    for n in [5_000, 50_000] {
        let sql = format!(
            "SET lock_timeout = '2s';\nCREATE VIEW v AS SELECT {} AS s;\nDROP TABLE t;\n",
            chain(n)
        );
        let dir = repo(&[(MIG, &sql)]);
        let (_, gate) = lint(dir.path(), &["--all"]);
        let mut got = found(&gate);
        got.sort_by_key(|(_, line)| *line);
        assert_eq!(
            got,
            [
                ("statement-too-complex".to_string(), 2),
                ("drop-table".to_string(), 3)
            ],
            "{n} terms"
        );
    }
}

/// One 15 MiB statement (an `INSERT … VALUES` of four million rows) took 11 GB and a minute to
/// parse. A statement over 128 KiB is not parsed: it is a `statement-too-complex` warning, the
/// rest of the file is linted, and the whole run stays under 256 MiB.
#[test]
fn a_huge_statement_is_not_parsed_and_memory_stays_bounded() {
    let values = vec!["(1)"; (15 << 20) / 4].join(",");
    let sql = format!("SET lock_timeout = '2s';\nINSERT INTO t VALUES {values};\nDROP TABLE t;\n");
    let dir = repo(&[(MIG, &sql)]);
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg(env!("CARGO_BIN_EXE_merge-gates"))
        .args(["migration-safety", "--all", "--format", "json", "--repo"])
        .arg(dir.path())
        .output()
        .expect("/usr/bin/time");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let peak_kb: u64 = stderr
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak from /usr/bin/time: {stderr}"));
    assert!(peak_kb < 256 << 10, "peak {} MiB", peak_kb >> 10);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut got = found(&v["gates"][0]);
    got.retain(|(r, _)| r != "dry-run-skipped");
    got.sort_by_key(|(_, line)| *line);
    assert_eq!(
        got,
        [
            ("statement-too-complex".to_string(), 2),
            ("drop-table".to_string(), 3)
        ]
    );
}

/// `(rule name, line, severity)` of the findings of one rule.
fn of_rule(gate: &Value, rule: &str) -> Vec<(u64, String)> {
    gate["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == format!("migration-safety/{rule}").as_str())
        .map(|f| {
            (
                f["line"].as_u64().unwrap_or(0),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_new_table_in_an_exposed_schema_needs_row_level_security_somewhere_in_the_pr() {
    let rls = |files: &[(&str, &str)], args: &[&str]| {
        let dir = repo(files);
        let (_, gate) = lint(dir.path(), args);
        of_rule(&gate, "table-without-rls")
    };
    let err = |line: u64| (line, "error".to_string());
    // Supabase layout: an error on the name; other layouts: a warning.
    assert_eq!(
        rls(
            &[(
                MIG,
                "SET lock_timeout = '5s';\nCREATE TABLE orders (id bigint);\n"
            )],
            &["--all"]
        ),
        [err(2)]
    );
    assert_eq!(
        rls(
            &[
                (
                    "db/migrations/0001.up.sql",
                    "CREATE TABLE public.orders (id bigint);\n"
                ),
                (
                    ".github/merge-gates.toml",
                    "[migration-safety]\nmigrations = [\"db/migrations/*.up.sql\"]\n"
                )
            ],
            &["--all"]
        ),
        [(1, "warning".to_string())]
    );
    // Not flagged: enabled in the same file or a later migration of the PR, temporary,
    // in a schema the API does not serve, dropped again, enabled under its new name.
    let later = [
        (MIG, "CREATE TABLE orders (id bigint);\n"),
        ("supabase/migrations/20251021130000_rls.sql", "ALTER TABLE public.orders ENABLE ROW LEVEL SECURITY;\n"),
        ("changed.txt", "supabase/migrations/20251021120000_change.sql\nsupabase/migrations/20251021130000_rls.sql\n"),
    ];
    let dir = repo(&later);
    let changed = dir.path().join("changed.txt");
    let (_, gate) = lint(dir.path(), &["--changed-files", changed.to_str().unwrap()]);
    assert_eq!(of_rule(&gate, "table-without-rls"), []);
    for sql in [
        "CREATE TABLE orders (id bigint);\nALTER TABLE orders ENABLE ROW LEVEL SECURITY;\n",
        "CREATE TEMP TABLE orders (id bigint);\n",
        "CREATE TABLE private.orders (id bigint);\n",
        "CREATE TABLE orders (id bigint);\nDROP TABLE orders;\n",
        "CREATE TABLE o (id bigint);\nALTER TABLE o RENAME TO orders;\nALTER TABLE orders ENABLE ROW LEVEL SECURITY;\n",
    ] {
        assert_eq!(rls(&[(MIG, sql)], &["--all"]), [], "{sql}");
    }
    // Flagged: RLS enabled on another table, or disabled again; CREATE TABLE AS; after a
    // search_path change an unqualified name may land in `public`; a quoted name is its own.
    for (sql, line) in [
        ("CREATE TABLE orders (id bigint);\nALTER TABLE order_items ENABLE ROW LEVEL SECURITY;\n", 1),
        ("CREATE TABLE orders (id bigint);\nALTER TABLE orders ENABLE ROW LEVEL SECURITY;\nALTER TABLE orders DISABLE ROW LEVEL SECURITY;\n", 1),
        ("CREATE TABLE orders AS SELECT 1 AS id;\n", 1),
        // SELECT … INTO creates a table as CREATE TABLE AS does.
        ("SELECT 1 AS id INTO orders;\n", 1),
        ("SELECT 1 AS id INTO TEMP scratch;\nSELECT 1 AS id INTO public.orders;\n", 2),
        ("SET search_path = private;\nCREATE TABLE orders (id bigint);\nRESET search_path;\n", 2),
        ("CREATE TABLE \"Orders\" (id bigint);\nALTER TABLE orders ENABLE ROW LEVEL SECURITY;\n", 1),
    ] {
        assert_eq!(rls(&[(MIG, sql)], &["--all"]), [err(line)], "{sql}");
    }
    // Thousands of new tables: the first 1,000 are listed, the rest counted in one finding.
    let many: String = (0..3000)
        .map(|i| format!("CREATE TABLE t{i} (id bigint);\n"))
        .collect::<String>()
        + "ALTER TABLE t2999 ENABLE ROW LEVEL SECURITY;\n";
    let dir = repo(&[(MIG, many.as_str())]);
    let (_, gate) = lint(dir.path(), &["--all"]);
    let listed = of_rule(&gate, "table-without-rls");
    let lines: Vec<u64> = listed.iter().map(|(l, _)| *l).filter(|l| *l > 0).collect();
    assert_eq!(
        (listed.len(), lines.len(), lines.iter().max()),
        (1001, 1000, Some(&1000))
    );
    let count = gate["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "migration-safety/table-without-rls" && f["line"].is_null())
        .unwrap();
    assert_eq!(count["severity"], "error");
    assert!(
        count["message"]
            .as_str()
            .unwrap()
            .starts_with("1,999 more new tables"),
        "{count}"
    );
    // `exposed-schemas` says which schemas the API serves.
    let config = (
        ".github/merge-gates.toml",
        "[migration-safety]\nexposed-schemas = [\"api\"]\n",
    );
    assert_eq!(
        rls(
            &[
                (
                    MIG,
                    "CREATE TABLE orders (id bigint);\nCREATE TABLE api.items (id bigint);\n"
                ),
                config
            ],
            &["--all"]
        ),
        [err(2)]
    );
}

#[test]
fn turning_row_level_security_off_on_a_base_table_is_an_error() {
    let dir = repo(&[(
        MIG,
        "SET lock_timeout = '5s';\nALTER TABLE profiles DISABLE ROW LEVEL SECURITY;\n",
    )]);
    let (code, gate) = lint(dir.path(), &["--all"]);
    assert_eq!(
        (code, of_rule(&gate, "rls-disabled")),
        (1, vec![(2, "error".to_string())]),
        "{gate}"
    );
    // A rollback file undoes a forward migration and is not applied by the runner.
    let dir = repo(&[(
        "supabase/migrations/rollback_20251021120000.sql",
        "ALTER TABLE profiles DISABLE ROW LEVEL SECURITY;\n",
    )]);
    assert_eq!(of_rule(&lint(dir.path(), &["--all"]).1, "rls-disabled"), []);
}

#[test]
fn sarif_marks_suppressed_findings_in_source_and_lists_only_the_rules_that_ran() {
    let sql = "\
-- merge-gates-allow migration-safety/drop-table: unused since ENG-311
DROP TABLE legacy_orders;
TRUNCATE sessions;
";
    let dir = repo(&[(MIG, sql)]);
    let out = run(bin()
        .args(["migration-safety", "--all", "--format", "sarif", "--repo"])
        .arg(dir.path()));
    assert_eq!(out.code, 1, "{}", out.stderr);
    let sarif: Value = serde_json::from_str(&out.stdout).unwrap();
    let run0 = &sarif["runs"][0];
    let results = run0["results"].as_array().unwrap();
    let dropped = results
        .iter()
        .find(|r| r["ruleId"] == "migration-safety/drop-table")
        .expect("the suppressed finding is reported, marked");
    assert_eq!(dropped["suppressions"][0]["kind"], "inSource");
    assert_eq!(
        dropped["suppressions"][0]["justification"],
        "unused since ENG-311"
    );
    let truncated = results
        .iter()
        .find(|r| r["ruleId"] == "migration-safety/truncate-table")
        .unwrap();
    assert!(truncated.get("suppressions").is_none());
    let rules = run0["tool"]["driver"]["rules"].as_array().unwrap();
    assert!(rules.iter().all(|r| {
        let id = r["id"].as_str().unwrap();
        id.starts_with("migration-safety/") || id.starts_with("core/")
    }));
    for r in results {
        let i = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[i]["id"], r["ruleId"]);
    }
    // Each rule's docs once: a run of one gate is a few dozen KB, not every rule's docs twice.
    assert!(out.stdout.len() < 200_000, "{} bytes", out.stdout.len());
}
