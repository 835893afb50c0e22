//! A waiver needs someone other than the author: a `merge-gates-allow` comment the PR adds on
//! an error counts only once an approver approved the PR after its last commit (an approving
//! review of the head commit, or the `merge-gates:approved` label). Runs as a GitHub PR job
//! against the API stand-in, which answers the reviews, issue events, head commit, permission
//! and team membership endpoints.

use crate::support::{
    actions, bin, contents_reply, pull_request_event, repo, run, Output, Reply, Server,
    BASE_CONFIG_ROUTE,
};
use serde_json::{json, Value};

const REPO: &str = "/repos/Codertocat/Hello-World";
/// The head commit of the payload (Codertocat/Hello-World#2).
const HEAD: &str = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
const MIGRATION: &str = "supabase/migrations/20251021140000_cleanup.sql";
const SQL: &str = "-- merge-gates-allow migration-safety/drop-table: unused since ENG-311\nDROP TABLE legacy_orders;\n";
/// The PR adds both lines.
const ADDED: &str = "@@ -0,0 +1,2 @@\n+-- merge-gates-allow migration-safety/drop-table: unused since ENG-311\n+DROP TABLE legacy_orders;\n";

/// The API as one test sets it up.
struct Pr {
    /// The migration's status and patch in the files list.
    status: &'static str,
    patch: &'static str,
    reviews: Value,
    labels: Value,
    events: Value,
    /// Permission of each user (`collaborators/{user}/permission`).
    permissions: &'static [(&'static str, &'static str)],
    /// Members of `acme/dba`.
    team: &'static [&'static str],
    /// The base branch's config.
    config: Option<&'static str>,
}

impl Default for Pr {
    fn default() -> Pr {
        Pr {
            status: "added",
            patch: ADDED,
            reviews: json!([]),
            labels: json!([]),
            events: json!([]),
            permissions: &[
                ("maintainer", "write"),
                ("agent-bot", "admin"),
                ("visitor", "read"),
            ],
            team: &[],
            config: None,
        }
    }
}

fn review(user: &str, state: &str, commit: &str) -> Value {
    json!({"user": {"login": user}, "state": state, "commit_id": commit, "submitted_at": "2025-10-21T18:00:00Z"})
}

fn labeled(user: &str, at: &str) -> Value {
    json!({"event": "labeled", "actor": {"login": user}, "label": {"name": "merge-gates:approved"}, "created_at": at})
}

/// migration-safety as a PR job on a repository holding the migration; the PR is by
/// `agent-bot`, its head commit dated 2025-10-21T17:00:00Z.
fn check(pr: Pr) -> (Output, Server) {
    let dir = repo(&[(MIGRATION, SQL)]);
    let event = pull_request_event(dir.path(), "");
    let api = Server::start(vec![
        (
            &format!("{REPO}/pulls/2"),
            vec![Reply::json(
                200,
                json!({"number": 2, "body": "", "user": {"login": "agent-bot"}, "head": {"sha": HEAD}, "labels": pr.labels}),
            )],
        ),
        (
            &format!("{REPO}/pulls/2/files"),
            vec![Reply::json(
                200,
                json!([{"filename": MIGRATION, "status": pr.status, "patch": pr.patch}]),
            )],
        ),
        (
            &format!("{REPO}/pulls/2/reviews"),
            vec![Reply::json(200, pr.reviews)],
        ),
        (
            &format!("{REPO}/issues/2/events"),
            vec![Reply::json(200, pr.events)],
        ),
        (
            &format!("{REPO}/commits/{HEAD}"),
            vec![Reply::json(
                200,
                json!({"sha": HEAD, "commit": {"author": {"date": "2025-10-21T16:30:00Z"}, "committer": {"date": "2025-10-21T17:00:00Z"}}}),
            )],
        ),
    ]);
    for (user, permission) in pr.permissions {
        api.route(
            &format!("{REPO}/collaborators/{user}/permission"),
            vec![Reply::json(
                200,
                json!({"permission": permission, "role_name": permission}),
            )],
        );
    }
    for user in pr.team {
        api.route(
            &format!("/orgs/acme/teams/dba/memberships/{user}"),
            vec![Reply::json(
                200,
                json!({"state": "active", "role": "member"}),
            )],
        );
    }
    if let Some(config) = pr.config {
        api.route(BASE_CONFIG_ROUTE, vec![contents_reply(config)]);
    }
    let mut cmd = bin();
    actions(&mut cmd, dir.path(), &event, &api.url);
    let out = run(cmd.args(["migration-safety", "--format", "json"]));
    (out, api)
}

fn drop_table(out: &Output) -> Option<Value> {
    out.json()["gates"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "migration-safety/drop-table")
        .cloned()
}

fn approval(out: &Output) -> Option<String> {
    out.json()["gates"][0]["suppressed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["rule"] == "migration-safety/drop-table")
        .and_then(|s| s["approval"].as_str().map(str::to_string))
}

fn assert_waiting(out: &Output, name: &str) {
    assert_eq!(out.code, 1, "{name}: {}\n{}", out.stdout, out.stderr);
    let f =
        drop_table(out).unwrap_or_else(|| panic!("{name}: no drop-table error: {}", out.stdout));
    assert_eq!(f["severity"], "error", "{name}");
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains("waiting for approval"),
        "{name}: {message}"
    );
}

fn assert_waived(out: &Output, name: &str, by: &str) {
    assert_eq!(out.code, 0, "{name}: {}\n{}", out.stdout, out.stderr);
    assert!(drop_table(out).is_none(), "{name}: {}", out.stdout);
    assert_eq!(approval(out).as_deref(), Some(by), "{name}");
}

/// Before: the author's own `merge-gates-allow … : ok` turned the error into a pass.
#[test]
fn a_suppression_the_pr_adds_is_not_a_waiver_by_itself() {
    let (out, _) = check(Pr::default());
    assert_waiting(&out, "no approval");
    let message = drop_table(&out).unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("write access"), "{message}");
}

#[test]
fn an_approving_review_of_the_head_commit_by_a_writer_waives_it() {
    let (out, _) = check(Pr {
        reviews: json!([review("maintainer", "APPROVED", HEAD)]),
        ..Pr::default()
    });
    assert_waived(&out, "review", "approved by @maintainer");
}

#[test]
fn an_approval_of_an_older_commit_does_not_count() {
    let (out, _) = check(Pr {
        reviews: json!([review(
            "maintainer",
            "APPROVED",
            "0000000000000000000000000000000000000001"
        )]),
        ..Pr::default()
    });
    assert_waiting(&out, "old approval");
}

#[test]
fn a_reviewer_without_write_access_cannot_approve() {
    let (out, _) = check(Pr {
        reviews: json!([review("visitor", "APPROVED", HEAD)]),
        ..Pr::default()
    });
    assert_waiting(&out, "read permission");
}

#[test]
fn a_later_request_for_changes_withdraws_the_approval() {
    let (out, _) = check(Pr {
        reviews: json!([
            review("maintainer", "APPROVED", HEAD),
            review("maintainer", "COMMENTED", HEAD),
            review("maintainer", "CHANGES_REQUESTED", HEAD)
        ]),
        ..Pr::default()
    });
    assert_waiting(&out, "changes requested");
    // A comment after the approval does not withdraw it.
    let (out, _) = check(Pr {
        reviews: json!([
            review("maintainer", "APPROVED", HEAD),
            review("maintainer", "COMMENTED", HEAD)
        ]),
        ..Pr::default()
    });
    assert_waived(&out, "comment after approval", "approved by @maintainer");
}

/// The author (here with admin permission) labels their own PR.
#[test]
fn the_author_cannot_approve_with_the_label() {
    let (out, _) = check(Pr {
        labels: json!([{"name": "merge-gates:approved"}]),
        events: json!([labeled("agent-bot", "2025-10-21T18:00:00Z")]),
        ..Pr::default()
    });
    assert_waiting(&out, "author's label");
}

#[test]
fn the_label_from_an_approver_after_the_last_commit_waives_it() {
    let (out, _) = check(Pr {
        labels: json!([{"name": "merge-gates:approved"}]),
        events: json!([labeled("maintainer", "2025-10-21T18:00:00Z")]),
        ..Pr::default()
    });
    assert_waived(&out, "label", "approved by @maintainer");
}

#[test]
fn a_label_added_before_the_last_commit_does_not_count() {
    let (out, _) = check(Pr {
        labels: json!([{"name": "merge-gates:approved"}]),
        events: json!([labeled("maintainer", "2025-10-21T16:00:00Z")]),
        ..Pr::default()
    });
    assert_waiting(&out, "label before the last commit");
}

/// The base's config for the PRs that edit the migration on the base: editing an applied
/// migration is an error of its own (`applied-migration-changed`), turned off here to look at
/// the waiver alone.
const EDITS_ALLOWED: &str = "[rules]\n\"migration-safety/applied-migration-changed\" = \"off\"\n";

/// The comment and the line it covers are on the base branch (context lines of the patch):
/// it was approved when it merged, and the API is not asked.
#[test]
fn a_suppression_already_on_the_base_needs_no_approval() {
    let (out, api) = check(Pr {
        status: "modified",
        config: Some(EDITS_ALLOWED),
        patch: "@@ -1,2 +1,3 @@\n -- merge-gates-allow migration-safety/drop-table: unused since ENG-311\n DROP TABLE legacy_orders;\n+-- end\n",
        ..Pr::default()
    });
    assert_waived(&out, "on the base", "on the base branch");
    assert_eq!(api.count(&format!("GET {REPO}/pulls/2/reviews")), 0);
}

/// A comment already on the base, over a line the PR adds: the waiver's subject is new.
#[test]
fn a_base_suppression_over_a_line_the_pr_adds_needs_approval() {
    let (out, _) = check(Pr {
        status: "modified",
        config: Some(EDITS_ALLOWED),
        patch: "@@ -1,1 +1,2 @@\n -- merge-gates-allow migration-safety/drop-table: unused since ENG-311\n+DROP TABLE legacy_orders;\n",
        ..Pr::default()
    });
    assert_waiting(&out, "new line under a base comment");
}

#[test]
fn a_self_waivable_rule_needs_no_approval() {
    let (out, _) = check(Pr {
        config: Some("self-waivable = [\"migration-safety/drop-table\"]\n"),
        ..Pr::default()
    });
    assert_waived(&out, "self-waivable", "self-waivable");
}

/// `approvers = ["acme/dba"]`: a team member approves; a writer outside the team does not.
#[test]
fn configured_approvers_replace_write_access() {
    let config = "approvers = [\"acme/dba\"]\n";
    let (out, _) = check(Pr {
        reviews: json!([review("dba-lead", "APPROVED", HEAD)]),
        team: &["dba-lead"],
        config: Some(config),
        ..Pr::default()
    });
    assert_waived(&out, "team member", "approved by @dba-lead");
    let (out, _) = check(Pr {
        reviews: json!([review("maintainer", "APPROVED", HEAD)]),
        team: &["dba-lead"],
        config: Some(config),
        ..Pr::default()
    });
    assert_waiting(&out, "writer outside the team");
    let message = drop_table(&out).unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("@acme/dba"), "{message}");
}

/// A local run has no reviewers: the suppression counts, and the output says it was not
/// checked for approval.
#[test]
fn locally_a_suppression_counts_and_says_it_was_not_checked() {
    let dir = repo(&[(MIGRATION, SQL)]);
    let out = run(bin()
        .args(["migration-safety", "--all", "--repo"])
        .arg(dir.path()));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("not checked for approval"),
        "{}",
        out.stdout
    );
}
