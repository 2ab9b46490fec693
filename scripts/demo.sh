#!/usr/bin/env bash
# `npm run demo`: builds a demo database from examples/ in .demo/ and shows what crm does.
set -euo pipefail
cd "$(dirname "$0")/.."
export CRM_DB="$PWD/.demo/crm.db"
rm -rf .demo && mkdir -p .demo
crm() { node bin/crm.js "$@"; }
step() { printf '\n\033[1m$ crm %s\033[0m\n' "$*"; crm "$@"; }

crm init >/dev/null
# --- section: customers (issue 3)
# --- section: sales (issue 4)
# --- section: tickets (issue 5)
# --- section: segments (issue 6)
# --- section: import-export (issue 7)
# Importing the same file again changes nothing: every row matches a customer already there.
step import customers examples/customers.csv
step export customers --output .demo/customers-export.csv
head -n 3 .demo/customers-export.csv
# The export imports back as it was: into a fresh database and out again, byte for byte.
crm --db .demo/copy.db import customers .demo/customers-export.csv || true
crm --db .demo/copy.db export customers | cmp - .demo/customers-export.csv && echo "round trip: identical"
# A bad row stops the whole import, unless --skip-invalid sets it aside in a rejects file (exit 3).
printf 'name,email,age\nMei Lin,mei.lin@example.com,31\nBad Row,not-an-email,200\n' > .demo/new-customers.csv
step import customers .demo/new-customers.csv || true
step import customers .demo/new-customers.csv --skip-invalid --rejects .demo/rejects.csv || true
cat .demo/rejects.csv
# Once segments are merged: crm export customers --segment NAME --bom --output vip.csv
# --- section: trust (issue 8)
# --- section: tasks (issue 9)
printf '\nThe demo database is %s — try: node bin/crm.js --db %s customer list\n' "$CRM_DB" "$CRM_DB"
