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
step segment create east-big --where 'city in ("Shanghai", "Hangzhou") and age between 25 and 40 and total_spent > 1000' --description 'big spenders in the east'
step segment show east-big
step segment breakdown --by age:18,25,35,50
# --- section: import-export (issue 7)
# --- section: trust (issue 8)
# --- section: tasks (issue 9)
printf '\nThe demo database is %s — try: node bin/crm.js --db %s customer list\n' "$CRM_DB" "$CRM_DB"
