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
step import customers examples/customers.csv
step import activities examples/activities.csv
step customer list --limit 10
step customer list --city Shanghai --tag vip --sort name
# A conversation whose records answer (--reply-to) and continue (--follows) each other.
ask=$(crm activity add xue.li@example.com --type email --direction in --at "2025-05-20 09:30" \
  --summary "想订 30 份中秋礼盒，问能否印公司 logo" 2>/dev/null)
quote=$(crm activity add xue.li@example.com --type email --direction out --at "2025-05-20 14:00" --reply-to "$ask" \
  --summary "Sent a quote: 30 gift boxes with a logo sleeve, 6,900.00" 2>/dev/null)
agreed=$(crm activity add xue.li@example.com --type call --direction in --at "2025-05-21 10:15" --reply-to "$quote" \
  --summary "Accepted the quote; wants delivery before 2025-09-01" 2>/dev/null)
crm activity add xue.li@example.com --type meeting --direction out --at "2025-05-23 16:00" --follows "$agreed" \
  --summary "Visited her office with logo samples" >/dev/null 2>&1
crm customer edit xue.li@example.com --tag vip --field delivery=office 2>/dev/null
step customer show xue.li@example.com
step activity thread "$quote"
# --- section: sales (issue 4)
# --- section: tickets (issue 5)
# --- section: segments (issue 6)
# --- section: import-export (issue 7)
# --- section: trust (issue 8)
# --- section: tasks (issue 9)
printf '\nThe demo database is %s — try: node bin/crm.js --db %s customer list\n' "$CRM_DB" "$CRM_DB"
