#!/usr/bin/env bash
# Benchmark: the migration-safety dry run vs eugene (`eugene trace`, crates.io) on the same
# repository against the same local PostgreSQL. The repository is a git history: a base commit
# whose Supabase migrations build an existing schema with data ($EXISTING migrations, $ROWS
# orders), and a PR commit adding migrations that take locks on those tables (ADD COLUMN, a
# plain CREATE INDEX, a foreign key, a column type change that rewrites, SET NOT NULL, a
# validated CHECK, a backfill, CREATE INDEX CONCURRENTLY on its own).
#   merge-gates: `migration-safety --base base --database-url …`: creates a scratch database,
#     applies the base's migrations, traces the PR's, drops the database;
#   eugene: `eugene trace --disable-temporary --commit --git-diff base` into a fresh database
#     (created and dropped around it, as merge-gates does): it runs every migration in
#     sequence, committing each, and reports the PR's.
# If eugene cannot be installed or run here, the script says so and compares with applying the
# same files in one transaction with `psql -1 -f` instead (no lock trace: a floor, not a peer).
# eugene is built once with `cargo install --locked` into
# ${XDG_CACHE_HOME:-$HOME/.cache}/merge-gates/eugene (several minutes the first time).
# SERVER=postgres://user@host:port/db names another server (trust or $PGPASS auth).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_tools
command -v psql >/dev/null || {
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-client >/dev/null
}
cargo build --release --locked --quiet
BIN=$PWD/target/release/merge-gates
SERVER=${SERVER:-postgres://postgres@127.0.0.1:5432/postgres}
EXISTING=${EXISTING:-100}
ROWS=${ROWS:-10000}
EUGENE_VERSION=0.8.3
work=$(mktemp -d)
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT

eugene_root=${XDG_CACHE_HOME:-$HOME/.cache}/merge-gates/eugene
EUGENE=$eugene_root/bin/eugene
if [ ! -x "$EUGENE" ]; then
  echo "building eugene $EUGENE_VERSION (cargo install --locked, cached in $eugene_root)..."
  # A build directory in the cache, so an interrupted build resumes; removed once installed.
  if CARGO_TARGET_DIR=$eugene_root-build cargo install --quiet --locked --version "$EUGENE_VERSION" \
    --root "$eugene_root" eugene > "$work/eugene-install.log" 2>&1; then
    rm -rf "$eugene_root-build"
  else
    tail -n 20 "$work/eugene-install.log"
    EUGENE=
  fi
fi

repo=$work/repo
mkdir -p "$repo/supabase/migrations"
python3 - "$repo/supabase/migrations" "$EXISTING" "$ROWS" <<'PY'
import os, random, sys
out, existing, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(7)
files = []
def mig(sql):
    files.append(sql)

mig("""CREATE TABLE public.shops (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  domain text NOT NULL UNIQUE,
  plan text NOT NULL DEFAULT 'basic',
  created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO public.shops (domain) SELECT 'shop-' || g || '.myshopify.com' FROM generate_series(1, 50) g;
""")
mig(f"""CREATE TABLE public.customers (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  shop_id bigint NOT NULL REFERENCES public.shops (id) ON DELETE CASCADE,
  email text,
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customers_shop_idx ON public.customers (shop_id);
INSERT INTO public.customers (shop_id, email, name)
SELECT 1 + g % 50, 'customer' || g || '@example.com', 'Customer ' || g FROM generate_series(1, {max(rows // 10, 10)}) g;
""")
mig(f"""CREATE TABLE public.products (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  shop_id bigint NOT NULL REFERENCES public.shops (id),
  title text NOT NULL,
  price numeric(12, 2) NOT NULL DEFAULT 0
);
INSERT INTO public.products (shop_id, title, price)
SELECT 1 + g % 50, 'Product ' || g, (g % 500) + 0.99 FROM generate_series(1, {max(rows // 20, 10)}) g;
""")
mig(f"""CREATE TABLE public.orders (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  shop_id bigint NOT NULL REFERENCES public.shops (id),
  customer_id bigint REFERENCES public.customers (id),
  status text NOT NULL DEFAULT 'open',
  total numeric(12, 2) NOT NULL DEFAULT 0,
  note text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_shop_created_idx ON public.orders (shop_id, created_at DESC);
INSERT INTO public.orders (shop_id, customer_id, status, total, created_at)
SELECT 1 + g % 50, 1 + g % {max(rows // 10, 10)}, (ARRAY['open', 'paid', 'shipped', 'cancelled'])[1 + g % 4],
       (g % 1000) + 0.5, now() - (g || ' minutes')::interval
FROM generate_series(1, {rows}) g;
""")
mig(f"""CREATE TABLE public.line_items (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  order_id bigint NOT NULL REFERENCES public.orders (id) ON DELETE CASCADE,
  product_id bigint NOT NULL,
  quantity integer NOT NULL CHECK (quantity > 0),
  price numeric(12, 2) NOT NULL
);
INSERT INTO public.line_items (order_id, product_id, quantity, price)
SELECT 1 + g % {rows}, 1 + g % {max(rows // 20, 10)}, 1 + g % 5, (g % 500) + 0.99 FROM generate_series(1, {rows * 2}) g;
""")
mig("""CREATE OR REPLACE FUNCTION public.touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END;
$$;
""")
nouns = ["webhooks", "sessions", "discounts", "inventory_levels", "fulfillments", "audit_events",
         "collections", "variants", "payouts", "reviews", "refunds", "invoices", "subscriptions"]
cols = ["status text NOT NULL DEFAULT 'pending'", "metadata jsonb NOT NULL DEFAULT '{}'::jsonb",
        "note text", "amount numeric(12, 2)", "archived boolean NOT NULL DEFAULT false",
        "external_id text UNIQUE", "tags text[] NOT NULL DEFAULT '{}'"]
core = ["shops", "customers", "products", "orders"]
made = []
while len(files) < existing:
    i = len(files)
    kind = rnd.random()
    if kind < 0.5 or not made:
        name = f"{rnd.choice(nouns)}_{i}"
        made.append(name)
        body = ["  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
                f"  shop_id bigint NOT NULL REFERENCES public.shops (id) ON DELETE CASCADE",
                "  updated_at timestamptz NOT NULL DEFAULT now()"] + [f"  {c}" for c in rnd.sample(cols, 3)]
        mig(f"CREATE TABLE public.{name} (\n" + ",\n".join(body) + "\n);\n"
            f"CREATE INDEX {name}_shop_idx ON public.{name} (shop_id);\n"
            f"CREATE TRIGGER {name}_touch BEFORE UPDATE ON public.{name}\n"
            f"  FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();\n"
            f"INSERT INTO public.{name} (shop_id) SELECT 1 + g % 50 FROM generate_series(1, 200) g;\n"
            f"COMMENT ON TABLE public.{name} IS 'Rows of {name}';\n")
    elif kind < 0.8:
        t = rnd.choice(made + core)
        mig(f"ALTER TABLE public.{t} ADD COLUMN c{i} text;\n"
            f"COMMENT ON COLUMN public.{t}.c{i} IS 'added in migration {i}';\n")
    else:
        t = rnd.choice(made)
        mig(f"CREATE OR REPLACE VIEW public.{t}_recent AS\n"
            f"  SELECT id, shop_id, updated_at FROM public.{t} WHERE updated_at > now() - interval '7 days';\n")
for i, sql in enumerate(files):
    with open(os.path.join(out, f"2024{i + 1:010d}_base.sql"), "w") as f:
        f.write(sql)
PY
(cd "$repo" && git init -q && git add -A &&
  git -c user.name=bench -c user.email=bench@localhost commit -qm base && git tag base)

pr=(
"SET lock_timeout = '2s';
ALTER TABLE public.orders ADD COLUMN priority integer NOT NULL DEFAULT 0;"
"CREATE INDEX orders_status_idx ON public.orders (status);"
"ALTER TABLE public.line_items
  ADD CONSTRAINT line_items_product_fk FOREIGN KEY (product_id) REFERENCES public.products (id);"
"ALTER TABLE public.line_items ALTER COLUMN quantity TYPE bigint;"
"UPDATE public.customers SET email = 'unknown-' || id || '@example.com' WHERE email IS NULL;
ALTER TABLE public.customers ALTER COLUMN email SET NOT NULL;"
"ALTER TABLE public.products ADD CONSTRAINT products_price_ck CHECK (price >= 0) NOT VALID;
ALTER TABLE public.products VALIDATE CONSTRAINT products_price_ck;"
"CREATE INDEX CONCURRENTLY line_items_order_idx ON public.line_items (order_id);"
"CREATE TABLE public.order_events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  order_id bigint NOT NULL REFERENCES public.orders (id),
  kind text NOT NULL,
  at timestamptz NOT NULL DEFAULT now()
);
UPDATE public.orders SET priority = 1 WHERE status = 'open';"
)
for i in "${!pr[@]}"; do
  printf '%s\n' "${pr[$i]}" > "$repo/supabase/migrations/2025$(printf '%010d' $((i + 1)))_pr.sql"
done
(cd "$repo" && git add -A && git -c user.name=bench -c user.email=bench@localhost commit -qm pr)
statements=$(cat "$repo"/supabase/migrations/*.sql | grep -c ';$' || true)

# The peers run in a fresh database, created and dropped around them as merge-gates does.
host=${SERVER#*@}; host=${host%%/*}; port=${host##*:}; host=${host%%:*}
user=${SERVER#postgres://}; user=${user%%@*}
peer_script() { # NAME COMMAND: run in the repository; the database is $db, the tool follows $time
  cat > "$work/$1-run.sh" <<EOF
#!/usr/bin/env bash
set -eu
# With MEASURE=FILE, the peak RSS of the tool itself (not of psql creating the database).
time=\${MEASURE:+/usr/bin/time -f %M -o \$MEASURE}
db=$1_bench_\$\$
psql -q -X "$SERVER" -c "CREATE DATABASE \$db TEMPLATE template0" >/dev/null
trap 'psql -q -X "$SERVER" -c "DROP DATABASE IF EXISTS \$db WITH (FORCE)" >/dev/null' EXIT
cd "$repo"
$2
EOF
  chmod +x "$work/$1-run.sh"
}
peer_script eugene "PGPASS=\${PGPASS:-postgres} \$time \"$EUGENE\" trace --disable-temporary -H \"$host\" \\
  -p \"$port\" -U \"$user\" -d \"\$db\" --commit --git-diff base --sort-mode name --accept-failures \\
  --format json supabase/migrations"
# CREATE INDEX CONCURRENTLY cannot run inside -1's transaction: psql applies it plainly.
peer_script psql "sed 's/ CONCURRENTLY//' supabase/migrations/*.sql |
  \$time psql -q -X -v ON_ERROR_STOP=1 -1 -f - \"${SERVER%/*}/\$db\" >/dev/null"

mg() { echo "$BIN" migration-safety --repo "$repo" --base base --database-url "$SERVER" --format json; }
# Sanity: merge-gates traces the PR's migrations and reports the locks and the rewrite.
$(mg) > "$work/mg.json" || true
python3 - "$work/mg.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
f = [x for g in r["gates"] for x in g["findings"]]
rules = sorted({x["rule"] for x in f})
assert "migration-safety/dangerous-lock" in rules and "migration-safety/table-rewrite" in rules, rules
assert "migration-safety/dry-run-failed" not in rules, [x for x in f if x["rule"].endswith("failed")]
print("merge-gates: %d findings (%s)" % (len(f), ", ".join(r.rsplit("/", 1)[1] for r in rules)))
PY

peer=eugene
if [ -n "$EUGENE" ] && "$work/eugene-run.sh" > "$work/eugene.json" 2> "$work/eugene.err"; then
  python3 - "$work/eugene.json" <<'PY'
import json, sys
# One pretty JSON document per reported script, back to back.
text, dec, docs, i = open(sys.argv[1]).read(), json.JSONDecoder(), [], 0
while i < len(text):
    if text[i].isspace():
        i += 1
        continue
    doc, i = dec.raw_decode(text, i)
    docs.append(doc)
hints = sorted({h["id"] for d in docs for s in d["statements"] for h in s["triggered_rules"]})
assert len(docs) >= 7, len(docs)
print("eugene: %d PR scripts traced and reported, hints %s" % (len(docs), ", ".join(hints)))
PY
  peer_cmd=("$work/eugene-run.sh")
  peer_name="eugene $("$EUGENE" --version | cut -d' ' -f2) trace"
else
  echo "eugene could not be installed or run here; comparing with psql -1 -f instead (no lock trace)"
  [ -s "${work}/eugene.err" ] && tail -n 5 "$work/eugene.err"
  peer=psql
  "$work/psql-run.sh"
  peer_cmd=("$work/psql-run.sh")
  peer_name="psql -1 -f (eugene unavailable)"
fi

t_mg=$(median_ms $(mg))
t_peer=$(median_ms "${peer_cmd[@]}")
m_mg=$(peak_kb $(mg))
MEASURE=$work/peer.kb "${peer_cmd[@]}" > /dev/null || true
m_peer=$(tail -n 1 "$work/peer.kb")
printf '\nmigration dry run, %s existing + %s PR migrations (%s statements, %s orders), median of %s runs, %s cores\n' \
  "$EXISTING" "${#pr[@]}" "$statements" "$ROWS" "${RUNS:-5}" "$(nproc)"
printf '%-44s %12s %14s\n' "tool" "wall (ms)" "peak RSS (MB)"
printf '%-44s %12s %14s\n' "merge-gates migration-safety --database-url" "$t_mg" "$((m_mg / 1024))"
printf '%-44s %12s %14s\n' "$peer_name" "$t_peer" "$((m_peer / 1024))"
[ "$peer" = eugene ] || printf '(psql only applies the files; it reports no locks)\n'
printf 'both create a database, apply the base migrations, run the PR migrations and drop it\n'
bench_result "migration-safety dry run" \
  "$EXISTING base + ${#pr[@]} PR migrations, $ROWS orders" "$t_mg" "$peer_name" "$t_peer" "$m_mg" "$m_peer"
