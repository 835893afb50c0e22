//! The dry run's oracle: what the PR's migrations *did* to the objects and rows that exist on
//! the base, whatever syntax did it — a temp table shadowing a real one, `search_path`, a `DO`
//! block's `EXECUTE`, a data-modifying CTE, a function the migration defines and calls.
//!
//! Before the PR's migrations the URL's role installs, in a schema the scratch role has no
//! `USAGE` on (`mg_oracle`): a log table; statement-level `AFTER DELETE / UPDATE / TRUNCATE`
//! triggers on every base table; and (superuser only) event triggers on `sql_drop` and
//! `ddl_command_end` that log every dropped object and every DDL command, and note when an
//! audit trigger is disabled, renamed or dropped. Every row carries `current_query()`: the
//! statement of the migration that did it. After each migration the log is read and a
//! catalog snapshot of the base objects (schemas, tables, columns and their types,
//! constraints, indexes, policies, functions, views, triggers, types, RLS flags) is compared
//! with the one before: a dropped, renamed or retyped base object is a finding with the lint's
//! rule id; any other difference is `base-object-changed`.

use super::sql::{LineIndex, Statement};
use crate::finding::{Finding, GateOutput, Location, Severity};
use crate::gates::migration_safety::discover::Migration;
use crate::rules::Rule;
use anyhow::{Context as _, Result};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use tokio_postgres::Client;

/// What the oracle saw happen to a base object or its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum What {
    DropTable,
    DropColumn,
    DropSchema,
    DropObject,
    RenameTable,
    RenameColumn,
    ChangeColumnType,
    Delete,
    Update,
    Truncate,
    Changed,
    /// An audit trigger of the oracle was disabled, renamed or dropped.
    Tampered,
    /// A table the PR created in an exposed schema has row-level security off at the end.
    NoRls,
}

/// One thing the oracle saw, on the statement that did it (line 0: not known which).
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub what: What,
    pub path: String,
    pub line: usize,
    pub column: usize,
    /// The statement's last line (to match the lint's findings inside it).
    pub end_line: usize,
    /// The statement, shortened.
    pub statement: String,
    /// `table public.users`, `column public.users.email`, …
    pub object: String,
    /// What changed, for `Changed`, renames and type changes.
    pub detail: String,
}

const INSTALL: &str = r#"
CREATE SCHEMA mg_oracle;
REVOKE ALL ON SCHEMA mg_oracle FROM PUBLIC;
CREATE TABLE mg_oracle.log (
  id bigserial PRIMARY KEY, event text NOT NULL, tag text, objid oid, objsubid int,
  identity text, query text, stmt text DEFAULT current_setting('merge_gates.statement', true));
CREATE FUNCTION mg_oracle.dml() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $f$
BEGIN
  INSERT INTO mg_oracle.log (event, tag, objid, identity, query)
  VALUES ('dml', TG_OP, TG_RELID, format('%I.%I', TG_TABLE_SCHEMA, TG_TABLE_NAME), current_query());
  RETURN NULL;
END $f$;
REVOKE ALL ON FUNCTION mg_oracle.dml() FROM PUBLIC;
DO $d$
DECLARE r record;
BEGIN
  FOR r IN SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'mg_oracle')
        AND n.nspname NOT LIKE 'pg\_%' AND NOT c.relispartition
  LOOP
    EXECUTE format('CREATE TRIGGER mg_oracle_dml AFTER DELETE OR UPDATE OR TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION mg_oracle.dml()', r.oid::regclass);
  END LOOP;
END $d$;
"#;

/// The event triggers (superuser only). The checks for tampering look at every audit trigger
/// after each DDL command, so disabling one inside a `DO` block and enabling it again is seen.
const EVENT_TRIGGERS: &str = r#"
CREATE FUNCTION mg_oracle.dropped() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $f$
BEGIN
  INSERT INTO mg_oracle.log (event, tag, objid, objsubid, identity, query)
  SELECT CASE WHEN tg_tag = 'DROP TRIGGER' AND d.object_type = 'trigger' AND d.object_identity LIKE 'mg\_oracle\_dml on %' THEN 'tamper' ELSE 'drop' END,
         tg_tag, d.objid, d.objsubid, d.object_type || ' ' || d.object_identity, current_query()
  FROM pg_event_trigger_dropped_objects() d;
END $f$;
CREATE FUNCTION mg_oracle.ddl() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $f$
BEGIN
  INSERT INTO mg_oracle.log (event, tag, objid, objsubid, identity, query)
  SELECT 'ddl', d.command_tag, d.objid, d.objsubid, d.object_type || ' ' || d.object_identity, current_query()
  FROM pg_event_trigger_ddl_commands() d;
  INSERT INTO mg_oracle.log (event, tag, objid, identity, query)
  SELECT 'tamper', tg_tag, t.tgrelid, 'audit trigger on ' || t.tgrelid::regclass::text, current_query()
  FROM pg_trigger t
  WHERE t.tgfoid = 'mg_oracle.dml()'::regprocedure AND (t.tgenabled <> 'O' OR t.tgname <> 'mg_oracle_dml');
END $f$;
CREATE EVENT TRIGGER mg_oracle_drop ON sql_drop EXECUTE FUNCTION mg_oracle.dropped();
CREATE EVENT TRIGGER mg_oracle_ddl ON ddl_command_end EXECUTE FUNCTION mg_oracle.ddl();
"#;

/// Install the oracle; `false` when the event triggers could not be (the URL's role is not a
/// superuser): drops and renames are then still seen by the catalog comparison, on the file.
pub async fn install(admin: &Client, superuser: bool) -> Result<bool> {
    admin
        .batch_execute(INSTALL)
        .await
        .context("dry run: installing the oracle's audit triggers")?;
    if !superuser {
        return Ok(false);
    }
    admin
        .batch_execute(EVENT_TRIGGERS)
        .await
        .context("dry run: installing the oracle's event triggers")?;
    Ok(true)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Schema,
    Table,
    Column,
    Relation,
    Other,
}

/// A base object as the catalog shows it. `rel` is the table it belongs to (its OID), `name`
/// how a message names it, `value` what must not change.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Obj {
    kind: Kind,
    rel: Option<u32>,
    oid: u32,
    name: String,
    value: String,
}

/// The catalog, keyed so that a key survives what keeps the object (a rename, `CREATE OR
/// REPLACE`, an index rebuilt by a type change) and not what loses its data (a table or
/// column dropped and created again gets a new OID or attribute number).
#[derive(Debug, Clone, Default)]
pub struct Snapshot(BTreeMap<String, Obj>);

const USER_SCHEMA: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema', 'mg_oracle') AND n.nspname NOT LIKE 'pg\\_%'";

pub async fn snapshot(admin: &Client) -> Result<Snapshot> {
    let q = |sql: String| async move {
        admin
            .query(sql.as_str(), &[])
            .await
            .context("dry run: reading the catalog of the scratch database")
    };
    let mut s = BTreeMap::new();
    let mut put = |key: String, kind, rel: Option<u32>, oid: u32, name: String, value: String| {
        s.insert(
            key,
            Obj {
                kind,
                rel,
                oid,
                name,
                value,
            },
        );
    };
    for r in q(format!(
        "SELECT n.oid, n.nspname::text FROM pg_namespace n WHERE {USER_SCHEMA}"
    ))
    .await?
    {
        let (oid, name): (u32, String) = (r.get(0), r.get(1));
        put(
            format!("nsp:{oid}"),
            Kind::Schema,
            None,
            oid,
            format!("schema `{name}`"),
            name,
        );
    }
    for r in q(format!(
        "SELECT c.oid, format('%I.%I', n.nspname, c.relname), c.relkind::text, \
                format('row-level security %s, forced %s', c.relrowsecurity, c.relforcerowsecurity), \
                CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END, \
                CASE WHEN c.relkind IN ('i', 'I') THEN pg_get_indexdef(c.oid) END, \
                CASE WHEN c.relkind IN ('i', 'I') THEN (SELECT indrelid FROM pg_index WHERE indexrelid = c.oid) END \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'i', 'I') AND {USER_SCHEMA}"
    ))
    .await?
    {
        let (oid, name, kind): (u32, String, String) = (r.get(0), r.get(1), r.get(2));
        match kind.as_str() {
            "r" | "p" | "f" => {
                let rls: String = r.get(3);
                put(format!("rel:{oid}"), Kind::Table, Some(oid), oid, format!("table `{name}`"), format!("{name}\n{rls}"));
            }
            "v" | "m" => {
                let what = if kind == "v" { "view" } else { "materialized view" };
                let def: Option<String> = r.get(4);
                put(format!("view:{name}"), Kind::Relation, None, oid, format!("{what} `{name}`"), def.unwrap_or_default());
            }
            "S" => put(format!("rel:{oid}"), Kind::Relation, None, oid, format!("sequence `{name}`"), name.clone()),
            _ => {
                let (def, table): (Option<String>, Option<u32>) = (r.get(5), r.get(6));
                let short = name.rsplit('.').next().unwrap_or(&name).to_string();
                put(format!("idx:{}:{short}", table.unwrap_or(0)), Kind::Other, table, oid, format!("index `{name}`"), def.unwrap_or_default());
            }
        }
    }
    for r in q(format!(
        "SELECT a.attrelid, a.attnum::int4, format('%I.%I.%I', n.nspname, c.relname, a.attname), a.attname::text, \
                format_type(a.atttypid, a.atttypmod) \
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'f') AND {USER_SCHEMA}"
    ))
    .await?
    {
        let (rel, num, full, name, ty): (u32, i32, String, String, String) =
            (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
        put(format!("col:{rel}:{num}"), Kind::Column, Some(rel), rel, format!("column `{full}`"), format!("{name}\n{ty}"));
    }
    for r in q(format!(
        "SELECT c.conrelid, c.conname::text, format('%I.%I', n.nspname, c.conname), \
                replace(pg_get_constraintdef(c.oid), ' NOT VALID', ''), c.oid \
         FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE {USER_SCHEMA}"
    ))
    .await?
    {
        let (rel, short, name, def, oid): (u32, String, String, String, u32) =
            (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
        let rel = (rel != 0).then_some(rel);
        put(
            format!("con:{}:{short}", rel.unwrap_or(oid)),
            Kind::Other,
            rel,
            oid,
            format!("constraint `{name}`"),
            def,
        );
    }
    for r in q(format!(
        "SELECT p.polrelid, p.polname::text, format('%I on %s', p.polname, p.polrelid::regclass), \
                concat_ws(' ', p.polcmd, p.polpermissive, p.polroles::regrole[]::text, pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)), p.oid \
         FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {USER_SCHEMA}"
    ))
    .await?
    {
        let (rel, short, name, def, oid): (u32, String, String, String, u32) =
            (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
        put(format!("pol:{rel}:{short}"), Kind::Other, Some(rel), oid, format!("policy `{name}`"), def);
    }
    for r in q(format!(
        "SELECT t.tgrelid, t.tgname::text, format('%I on %s', t.tgname, t.tgrelid::regclass), \
                t.tgenabled::text || ' ' || pg_get_triggerdef(t.oid), t.oid \
         FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE NOT t.tgisinternal AND t.tgname <> 'mg_oracle_dml' AND {USER_SCHEMA}"
    ))
    .await?
    {
        let (rel, short, name, def, oid): (u32, String, String, String, u32) =
            (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
        put(format!("trg:{rel}:{short}"), Kind::Other, Some(rel), oid, format!("trigger `{name}`"), def);
    }
    for r in q(format!(
        "SELECT p.oid, p.oid::regprocedure::text, \
                concat_ws(' ', p.prorettype::regtype::text, p.provolatile, p.prosecdef, p.proconfig::text, md5(coalesce(p.prosrc, ''))) \
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE {USER_SCHEMA}"
    ))
    .await?
    {
        let (oid, sig, def): (u32, String, String) = (r.get(0), r.get(1), r.get(2));
        put(format!("fn:{sig}"), Kind::Other, None, oid, format!("function `{sig}`"), def);
    }
    for r in q(format!(
        "SELECT t.oid, format('%I.%I', n.nspname, t.typname), \
                (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid) \
         FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
         WHERE t.typtype IN ('e', 'd', 'r') AND {USER_SCHEMA}"
    ))
    .await?
    {
        let (oid, name, labels): (u32, String, Option<String>) = (r.get(0), r.get(1), r.get(2));
        put(format!("typ:{oid}"), Kind::Other, None, oid, format!("type `{name}`"), format!("{name}\n{}", labels.unwrap_or_default()));
    }
    Ok(Snapshot(s))
}

/// One row of the oracle's log.
#[derive(Debug, Clone)]
pub struct LogRow {
    event: String,
    tag: String,
    objid: Option<u32>,
    identity: String,
    query: String,
    /// The index of the statement the dry run was running (`merge_gates.statement`).
    stmt: Option<usize>,
}

/// Read and empty the log.
pub async fn take_log(admin: &Client) -> Result<Vec<LogRow>> {
    let rows = admin
        .query(
            "DELETE FROM mg_oracle.log RETURNING id, event, coalesce(tag, ''), objid, coalesce(identity, ''), coalesce(query, ''), stmt",
            &[],
        )
        .await
        .context("dry run: reading the oracle's log")?;
    let mut log: Vec<(i64, LogRow)> = rows
        .iter()
        .map(|r| {
            (
                r.get(0),
                LogRow {
                    event: r.get(1),
                    tag: r.get(2),
                    objid: r.get(3),
                    identity: r.get(4),
                    query: r.get(5),
                    stmt: r.get::<_, Option<String>>(6).and_then(|s| s.parse().ok()),
                },
            )
        })
        .collect();
    log.sort_by_key(|(id, _)| *id);
    Ok(log.into_iter().map(|(_, r)| r).collect())
}

/// The oracle's state across the PR's migrations.
pub struct Oracle {
    /// The base objects as they are now (dropped ones removed).
    current: Snapshot,
    /// Base tables with an audit trigger.
    audited: Vec<u32>,
    /// Tables the PR created (not on the base): where, and their catalog entry as of the last
    /// migration (a table dropped again is removed).
    created: BTreeMap<String, (Event, Obj)>,
}

impl Oracle {
    pub async fn new(admin: &Client) -> Result<Oracle> {
        let current = snapshot(admin).await?;
        let audited = admin
            .query(
                "SELECT tgrelid FROM pg_trigger WHERE tgfoid = 'mg_oracle.dml()'::regprocedure",
                &[],
            )
            .await
            .context("dry run: listing the oracle's audit triggers")?
            .iter()
            .map(|r| r.get(0))
            .collect();
        // Installing the triggers is not the PR's doing.
        take_log(admin).await?;
        Ok(Oracle {
            current,
            audited,
            created: BTreeMap::new(),
        })
    }

    /// The PR's new tables in `exposed` schemas whose row-level security is off after its
    /// last migration: a `CREATE TABLE` inside a `DO` block or a function is one too.
    pub fn without_rls(&self, exposed: &[String]) -> Vec<Event> {
        let in_exposed = |name: &str| {
            exposed.iter().any(|s| {
                let quoted = format!("\"{}\".", s.replace('"', "\"\""));
                name.starts_with(&format!("{s}.")) || name.starts_with(&quoted)
            })
        };
        self.created
            .values()
            .filter(|(_, obj)| {
                in_exposed(first_line(&obj.value))
                    && second_line(&obj.value).starts_with("row-level security f,")
            })
            .map(|(e, _)| e.clone())
            .collect()
    }

    /// What migration `m` did, read after it committed or failed.
    pub async fn after(
        &mut self,
        admin: &Client,
        m: &Migration,
        stmts: &[Statement],
    ) -> Result<Vec<Event>> {
        let log = take_log(admin).await?;
        let after = snapshot(admin).await?;
        let place = Place::new(m, stmts);
        let mut events = Vec::new();
        let mut seen = BTreeSet::new();
        let mut push = |events: &mut Vec<Event>,
                        what: What,
                        row: Option<&LogRow>,
                        object: String,
                        detail: String| {
            let (line, column, end_line, statement) = place.of(row);
            if seen.insert((what, line, object.clone(), detail.clone())) {
                events.push(Event {
                    what,
                    path: m.path.clone(),
                    line,
                    column,
                    end_line,
                    statement,
                    object,
                    detail,
                });
            }
        };
        let find_query = |oid: u32, rel: Option<u32>| -> Option<&LogRow> {
            log.iter()
                .filter(|r| r.event == "drop" || r.event == "ddl")
                .find(|r| r.objid == Some(oid) || (rel.is_some() && r.objid == rel))
        };
        let dropped_tables: BTreeSet<u32> = self
            .current
            .0
            .iter()
            .filter(|(k, o)| o.kind == Kind::Table && !after.0.contains_key(*k))
            .map(|(_, o)| o.oid)
            .collect();
        for (key, before) in &self.current.0 {
            let query = find_query(before.oid, before.rel);
            match after.0.get(key) {
                None => {
                    if before.kind != Kind::Table
                        && before.rel.is_some_and(|r| dropped_tables.contains(&r))
                    {
                        continue; // went with its table
                    }
                    let what = match before.kind {
                        Kind::Schema => What::DropSchema,
                        Kind::Table => What::DropTable,
                        Kind::Column => What::DropColumn,
                        _ => What::DropObject,
                    };
                    push(&mut events, what, query, before.name.clone(), String::new());
                }
                Some(now) if now.value != before.value => {
                    let (b, a) = (first_line(&before.value), first_line(&now.value));
                    let what = match before.kind {
                        Kind::Table if b != a => What::RenameTable,
                        Kind::Column if b != a => What::RenameColumn,
                        Kind::Column => What::ChangeColumnType,
                        _ => What::Changed,
                    };
                    let detail = match what {
                        What::RenameTable | What::RenameColumn => format!("renamed to `{a}`"),
                        What::ChangeColumnType => format!(
                            "type `{}` changed to `{}`",
                            second_line(&before.value),
                            second_line(&now.value)
                        ),
                        _ => changed_detail(before, now),
                    };
                    push(&mut events, what, query, before.name.clone(), detail);
                }
                Some(_) => {}
            }
        }
        let base_tables: BTreeSet<u32> = self.audited.iter().copied().collect();
        for r in &log {
            match r.event.as_str() {
                "dml" if r.objid.is_some_and(|o| base_tables.contains(&o)) => {
                    let what = match r.tag.as_str() {
                        "DELETE" => What::Delete,
                        "TRUNCATE" => What::Truncate,
                        _ => What::Update,
                    };
                    push(
                        &mut events,
                        what,
                        Some(r),
                        format!("table `{}`", r.identity),
                        String::new(),
                    );
                }
                "tamper" => push(
                    &mut events,
                    What::Tampered,
                    Some(r),
                    r.identity.clone(),
                    String::new(),
                ),
                _ => {}
            }
        }
        // Without event triggers (or if the log missed it): audit triggers gone or disabled.
        let still = admin
            .query(
                "SELECT c.oid, c.oid::regclass::text, EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid \
                   AND t.tgfoid = 'mg_oracle.dml()'::regprocedure AND t.tgenabled = 'O' AND t.tgname = 'mg_oracle_dml') \
                 FROM pg_class c WHERE c.oid = ANY ($1)",
                &[&self.audited],
            )
            .await
            .context("dry run: checking the oracle's audit triggers")?;
        for r in &still {
            if !r.get::<_, bool>(2) {
                let name: String = r.get(1);
                push(
                    &mut events,
                    What::Tampered,
                    None,
                    format!("audit trigger on `{name}`"),
                    String::new(),
                );
            }
        }
        // The PR's own tables: placed on the statement that created them, kept up to date.
        self.created.retain(|k, _| after.0.contains_key(k));
        for (key, obj) in &after.0 {
            if obj.kind != Kind::Table || self.current.0.contains_key(key) {
                continue;
            }
            if let Some((_, known)) = self.created.get_mut(key) {
                *known = obj.clone();
                continue;
            }
            let (line, column, end_line, statement) = place.of(find_query(obj.oid, None));
            let e = Event {
                what: What::NoRls,
                path: m.path.clone(),
                line,
                column,
                end_line,
                statement,
                object: obj.name.clone(),
                detail: String::new(),
            };
            self.created.insert(key.clone(), (e, obj.clone()));
        }
        self.current = Snapshot(
            after
                .0
                .into_iter()
                .filter(|(k, _)| self.current.0.contains_key(k))
                .collect(),
        );
        Ok(events)
    }
}

fn first_line(s: &str) -> &str {
    s.split('\n').next().unwrap_or_default()
}

fn second_line(s: &str) -> &str {
    s.split('\n').nth(1).unwrap_or_default()
}

fn changed_detail(before: &Obj, now: &Obj) -> String {
    let (b, a) = (before.value.as_str(), now.value.as_str());
    if before.kind == Kind::Table {
        if b.contains("row-level security t,") && a.contains("row-level security f,") {
            return "row-level security was disabled".into();
        }
        return format!("`{}` became `{}`", second_line(b), second_line(a));
    }
    format!(
        "its definition changed from `{}` to `{}`",
        crate::text::excerpt(b, 120),
        crate::text::excerpt(a, 120)
    )
}

/// Where a logged query is in the migration: the statement whose text it is.
struct Place<'a> {
    m: &'a Migration,
    stmts: &'a [Statement],
    idx: LineIndex<'a>,
}

impl<'a> Place<'a> {
    fn new(m: &'a Migration, stmts: &'a [Statement]) -> Place<'a> {
        Place {
            m,
            stmts,
            idx: LineIndex::new(&m.text),
        }
    }

    /// `(line, column, end line, statement)` of the statement that wrote `row`: the one the
    /// dry run says it was running, if its text is the logged query (the migration can set
    /// `merge_gates.statement` too), else the first whose text it is; line 0 when none is.
    fn of(&self, row: Option<&LogRow>) -> (usize, usize, usize, String) {
        let text = |s: &Statement| self.m.text.get(s.start..s.end);
        let st = row.and_then(|r| {
            r.stmt
                .and_then(|i| self.stmts.get(i))
                .filter(|s| text(s) == Some(r.query.as_str()))
                .or_else(|| {
                    self.stmts
                        .iter()
                        .find(|s| text(s) == Some(r.query.as_str()))
                })
        });
        match st {
            Some(s) => {
                let (line, column) = self.idx.pos(s.first_token);
                let (end_line, _) = self.idx.pos(s.end);
                let text = self.m.text[s.first_token..s.end]
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                (line, column, end_line, crate::text::excerpt(&text, 80))
            }
            None => (0, 0, 0, String::new()),
        }
    }
}

/// The oracle's events as findings, with the lint's rule ids. A finding the lint already made
/// inside the same statement is not repeated.
pub fn report(events: &[Event], additive_only: bool, out: &mut GateOutput) {
    for e in events {
        let (rule, did) = match e.what {
            What::DropTable => (Rule::MigDropTable, "dropped"),
            What::DropColumn => (Rule::MigDropColumn, "dropped"),
            What::DropSchema => (Rule::MigDropSchema, "dropped"),
            What::DropObject => (Rule::MigDropObject, "dropped"),
            What::RenameTable => (Rule::MigRenameTable, "renamed"),
            What::RenameColumn => (Rule::MigRenameColumn, "renamed"),
            What::ChangeColumnType => (Rule::MigChangeColumnType, "changed the type of"),
            What::Delete => (Rule::MigDeleteWithoutWhere, "deleted rows of"),
            What::Update => (Rule::MigUpdateWithoutWhere, "updated rows of"),
            What::Truncate => (Rule::MigTruncateTable, "truncated"),
            What::Changed => (Rule::MigBaseObjectChanged, "changed"),
            What::Tampered => (Rule::MigBaseObjectChanged, "disabled or removed"),
            What::NoRls => (Rule::MigTableWithoutRls, "created"),
        };
        let inside = |f: &Finding| {
            f.rule == rule
                && f.path() == Some(e.path.as_str())
                && f.line()
                    .is_some_and(|l| (e.line..=e.end_line).contains(&(l as usize)))
        };
        if e.line > 0 && out.findings.iter().any(inside) {
            continue;
        }
        let who = if e.line == 0 {
            "a statement of this migration".to_string()
        } else {
            format!("`{}`", e.statement)
        };
        let detail = if e.detail.is_empty() {
            String::new()
        } else {
            format!(" ({})", e.detail)
        };
        let message = match e.what {
            What::Tampered => format!(
                "{who} {did} the dry run's {}: what happens to that table's rows afterwards cannot be seen",
                e.object
            ),
            What::NoRls => format!(
                "{who} {did} {} in an exposed schema, and row-level security is still off on it after the PR's last migration (seen in PostgreSQL's catalog: a DO block or a function can hide the CREATE TABLE from the lint)",
                e.object
            ),
            _ => format!(
                "{who} {did} {}{detail}, which exists on the base (seen in PostgreSQL's catalog, whatever the statement looks like: a DO block, a function, a CTE, search_path or a temp table can hide it from the lint)",
                e.object
            ),
        };
        let mut f = Finding::new(rule, message);
        f.severity = match e.what {
            What::Tampered => Severity::Error,
            What::NoRls => crate::gates::migration_safety::discover::without_rls_severity(&e.path),
            _ if additive_only => Severity::Error,
            // A backfill: a warning, as the lint's policy rules are without `additive-only`.
            What::Update => Severity::Warning,
            _ => f.severity,
        };
        let f = if e.line == 0 {
            f.at(Location::file(&e.path))
        } else {
            f.at(Location::span(&e.path, e.line, e.column, e.column))
        };
        out.push(f);
    }
}
