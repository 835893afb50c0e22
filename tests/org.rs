//! The organisation setup (docs/org.md): the required workflow it shows calls the reusable
//! workflow with inputs and secrets that workflow declares, every required one given; the policy
//! reaches the action only as a file outside the member repository's tree; and inputs reach the
//! one script only through `env:`. actionlint cannot check this across the remote `uses:`, and
//! scripts/validate-actions.sh lints each file alone.

mod support;

use support::root;

/// The keys of the mapping that follows `header` (a line ending in `:`) in `text`, at the
/// indentation of its first key.
fn keys_under(text: &str, header: &str) -> Vec<String> {
    let mut lines = text.lines().skip_while(|l| l.trim_end() != header).skip(1);
    let Some(first) = lines.next() else {
        return vec![];
    };
    let indent = first.len() - first.trim_start().len();
    std::iter::once(first)
        .chain(lines)
        .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() >= indent)
        .filter(|l| l.len() - l.trim_start().len() == indent && !l.trim_start().starts_with('#'))
        .map(|l| l.trim().split(':').next().unwrap().to_string())
        .collect()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap()
}

#[test]
fn the_documented_caller_matches_the_reusable_workflow() {
    let reusable = read(".github/workflows/merge-gates-reusable.yml");
    let example = read("docs/examples/org-required.yml");
    let org = read("docs/org.md");

    let inputs = keys_under(&reusable, "    inputs:");
    let secrets = keys_under(&reusable, "    secrets:");
    assert!(
        inputs.contains(&"policy-repository".to_string()),
        "{inputs:?}"
    );
    assert_eq!(secrets, ["policy-token", "database-url"]);

    assert!(example
        .contains("uses: merge-gates/merge-gates/.github/workflows/merge-gates-reusable.yml@v1"));
    let given = keys_under(&example, "    with:");
    for k in &given {
        assert!(
            inputs.contains(k),
            "the example passes undeclared input {k}"
        );
    }
    assert!(
        given.contains(&"policy-repository".to_string()),
        "required input missing"
    );
    for k in keys_under(&example, "    secrets:") {
        assert!(
            secrets.contains(&k),
            "the example passes undeclared secret {k}"
        );
    }
    // docs/org.md shows the example's jobs verbatim, and documents every input.
    let jobs = example.split("\njobs:\n").nth(1).unwrap();
    let jobs: String = jobs
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        org.contains(&jobs),
        "docs/org.md's workflow differs from the example"
    );
    for i in &inputs {
        assert!(
            org.contains(&format!("| `{i}` |")),
            "docs/org.md does not document {i}"
        );
    }

    // The policy is checked out with no stored credentials and moved out of the tree, and the
    // action gets it as a file; no input is expanded inside a script.
    assert_eq!(reusable.matches("persist-credentials: false").count(), 2);
    assert!(reusable.contains("mv .merge-gates-policy \"$dest\""));
    assert!(reusable.contains("config: ${{ steps.policy.outputs.config }}"));
    let script = reusable.split("        run: |\n").nth(1).unwrap();
    let script: String = script
        .lines()
        .take_while(|l| l.starts_with("          "))
        .collect();
    assert!(!script.contains("${{"), "an expression inside the script");
}
