#!/usr/bin/env bash
# Benchmark: the migration-safety lint vs squawk (PyPI `squawk-cli`) on the same corpus of
# real-world-shaped migrations: every SQL file of the rule fixtures plus generated Supabase
# migrations (tables, RLS policies, plpgsql functions and triggers, DO blocks, seed data,
# ALTERs) and Prisma Migrate migrations. Prints median wall time and peak memory of each and
# the ratio. Only the static lint runs (no --database-url, so no dry run).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_tools
command -v squawk >/dev/null || python3 -m pip install --quiet --disable-pip-version-check squawk-cli
cargo build --release --locked --quiet
BIN=$PWD/target/release/merge-gates
FILES=${FILES:-1200}
work=$(mktemp -d)
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT

python3 - "$work" "$FILES" tests/fixtures/migration-safety <<'PY'
import glob, os, random, sys
root, total, fixtures = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rnd = random.Random(42)
sup = os.path.join(root, "supabase/migrations")
os.makedirs(sup)
fixture_sql = sorted(f for f in glob.glob(f"{fixtures}/**/*.sql", recursive=True) if os.path.isfile(f))
nouns = ["orders", "customers", "products", "carts", "line_items", "shipments", "refunds",
         "invoices", "subscriptions", "webhooks", "sessions", "discounts", "inventory_levels",
         "fulfillments", "audit_events", "shops", "collections", "variants", "payouts", "reviews"]
cols = [("title", "text NOT NULL"), ("status", "text NOT NULL DEFAULT 'pending'"),
        ("total", "numeric(12, 2) NOT NULL DEFAULT 0"), ("metadata", "jsonb NOT NULL DEFAULT '{}'::jsonb"),
        ("shop_domain", "text NOT NULL"), ("quantity", "integer NOT NULL CHECK (quantity >= 0)"),
        ("note", "text"), ("created_at", "timestamptz NOT NULL DEFAULT now()"),
        ("updated_at", "timestamptz NOT NULL DEFAULT now()"), ("archived", "boolean NOT NULL DEFAULT false"),
        ("external_id", "text UNIQUE"), ("tags", "text[] NOT NULL DEFAULT '{}'")]

def table(name, fk):
    body = ["  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY"]
    if fk:
        body.append(f"  {fk[:-1]}_id bigint NOT NULL REFERENCES public.{fk} (id) ON DELETE CASCADE")
    for c, t in rnd.sample(cols, rnd.randint(3, 8)):
        body.append(f"  {c} {t}")
    s = f"-- {name}: created for the {rnd.choice(['checkout', 'admin', 'sync', 'billing'])} flow\n"
    s += f"CREATE TABLE IF NOT EXISTS public.{name} (\n" + ",\n".join(body) + "\n);\n\n"
    s += f"ALTER TABLE public.{name} ENABLE ROW LEVEL SECURITY;\n\n"
    s += (f"CREATE POLICY \"{name} are readable by their shop\" ON public.{name}\n"
          f"  FOR SELECT USING (shop_domain = current_setting('request.jwt.claims', true)::jsonb ->> 'shop');\n\n"
          if "shop_domain" in s else "")
    s += f"CREATE INDEX IF NOT EXISTS {name}_created_idx ON public.{name} (id DESC);\n"
    s += f"COMMENT ON TABLE public.{name} IS 'Rows of {name}; see docs/data-model.md';\n"
    return s

def function(name):
    return (f"CREATE OR REPLACE FUNCTION public.touch_{name}()\nRETURNS trigger\nLANGUAGE plpgsql\n"
            f"SECURITY DEFINER SET search_path = public\nAS $$\nBEGIN\n  NEW.updated_at := now();\n"
            f"  IF NEW.status = 'cancelled' THEN\n    DELETE FROM public.line_items WHERE order_id = NEW.id; -- not a migration statement\n  END IF;\n"
            f"  RETURN NEW;\nEND;\n$$;\n\n"
            f"DROP TRIGGER IF EXISTS touch_{name} ON public.{name};\n"
            f"CREATE TRIGGER touch_{name} BEFORE UPDATE ON public.{name}\n  FOR EACH ROW EXECUTE FUNCTION public.touch_{name}();\n")

def alter(name):
    out = ["SET lock_timeout = '5s';"] if rnd.random() < 0.6 else []
    for _ in range(rnd.randint(1, 4)):
        c = rnd.choice([
            f"ALTER TABLE public.{name} ADD COLUMN IF NOT EXISTS gift_note text;",
            f"ALTER TABLE public.{name} ADD COLUMN priority integer NOT NULL DEFAULT 0;",
            f"ALTER TABLE public.{name} ALTER COLUMN note SET DEFAULT '';",
            f"ALTER TABLE public.{name} ALTER COLUMN note DROP DEFAULT;",
            f"ALTER TABLE public.{name} ADD CONSTRAINT {name}_total_ck CHECK (total >= 0) NOT VALID;",
            f"ALTER TABLE public.{name} VALIDATE CONSTRAINT {name}_total_ck;",
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name}_status_idx ON public.{name} (status) WHERE NOT archived;",
            f"UPDATE public.{name} SET status = 'open' WHERE status IS NULL AND id < 10000;",
            f"ALTER TABLE public.{name} ALTER COLUMN status SET NOT NULL;",
            f"ALTER TABLE public.{name} DROP COLUMN legacy_flag;",
        ])
        out.append(c)
    return "\n".join(out) + "\n"

def seed(name):
    rows = ",\n".join(f"  ('{name}-{i}', 'seed row {i}', now() - interval '{i} days')" for i in range(rnd.randint(5, 60)))
    return f"INSERT INTO public.{name} (title, note, created_at) VALUES\n{rows}\nON CONFLICT DO NOTHING;\n"

def do_block(name):
    return (f"DO $$\nBEGIN\n  IF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = '{name}_state') THEN\n"
            f"    CREATE TYPE public.{name}_state AS ENUM ('pending', 'active', 'done');\n  END IF;\nEND\n$$;\n"
            f"GRANT SELECT, INSERT, UPDATE ON public.{name} TO authenticated;\n")

n = 0
for f in fixture_sql:
    n += 1
    with open(f) as src, open(os.path.join(sup, f"2024{n:010d}_fixture.sql"), "w") as dst:
        dst.write(src.read())
prisma_share = total // 6
while n < total - prisma_share:
    n += 1
    name = rnd.choice(nouns) + ("" if rnd.random() < 0.7 else f"_{n}")
    parts = [table(name, rnd.choice([None, "orders", "customers", "shops"]))]
    for gen in rnd.sample([function, alter, seed, do_block], rnd.randint(1, 4)):
        parts.append(gen(name))
    with open(os.path.join(sup, f"2025{n:010d}_{name}.sql"), "w") as f:
        f.write("\n".join(parts))
for i in range(prisma_share):
    m = rnd.choice(["User", "Session", "Shop", "Order", "Product", "Webhook"]) + str(i)
    d = os.path.join(root, f"prisma/migrations/2025{i:010d}_add_{m.lower()}")
    os.makedirs(d)
    with open(os.path.join(d, "migration.sql"), "w") as f:
        f.write(f'-- CreateTable\nCREATE TABLE "{m}" (\n    "id" TEXT NOT NULL,\n    "shop" TEXT NOT NULL,\n'
                f'    "state" TEXT,\n    "isOnline" BOOLEAN NOT NULL DEFAULT false,\n    "scope" TEXT,\n'
                f'    "expires" TIMESTAMP(3),\n    "accessToken" TEXT NOT NULL,\n    "userId" BIGINT,\n'
                f'    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,\n\n'
                f'    CONSTRAINT "{m}_pkey" PRIMARY KEY ("id")\n);\n\n'
                f'-- CreateIndex\nCREATE UNIQUE INDEX "{m}_shop_key" ON "{m}"("shop");\n\n'
                f'-- AddForeignKey\nALTER TABLE "Session" ADD CONSTRAINT "{m}_userId_fkey" FOREIGN KEY ("userId") '
                f'REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;\n')
PY

mapfile -t files < <(cd "$work" && find supabase prisma -name '*.sql' | sort)
count=${#files[@]}
lines=$(cd "$work" && cat "${files[@]}" | wc -l)
mg() { echo "$BIN" migration-safety --all --repo "$work" --format json; }
sq() { echo squawk "${files[@]/#/$work/}"; }
# Sanity: both read every file and report problems (both exit 1 when they find some).
findings=$({ $(mg) || true; } | python3 -c 'import json,sys; print(sum(len(g["findings"]) for g in json.load(sys.stdin)["gates"]))')
squawk_violations=$({ $(sq) --reporter json 2>/dev/null || true; } | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')

t_mg=$(median_ms $(mg))
t_sq=$(median_ms $(sq))
m_mg=$(peak_kb $(mg))
m_sq=$(peak_kb $(sq))
printf '\nmigration lint, %s files (%s lines), median of %s runs, %s cores\n' "$count" "$lines" "${RUNS:-5}" "$(nproc)"
printf '%-34s %12s %14s %12s\n' "tool" "wall (ms)" "peak RSS (MB)" "findings"
printf '%-34s %12s %14s %12s\n' "merge-gates migration-safety" "$t_mg" "$((m_mg / 1024))" "$findings"
squawk_version=$(squawk --version | cut -d' ' -f2)
printf '%-34s %12s %14s %12s\n' "squawk $squawk_version" "$t_sq" "$((m_sq / 1024))" "$squawk_violations"
printf 'ratio: merge-gates takes %sx the time of squawk (< 1 is faster)\n' "$(python3 -c "import sys; print(f'{float(sys.argv[1])/float(sys.argv[2]):.2f}')" "$t_mg" "$t_sq")"
bench_result "migration-safety lint" "$count migrations ($lines lines)" "$t_mg" \
  "squawk $squawk_version" "$t_sq" "$m_mg" "$m_sq"
