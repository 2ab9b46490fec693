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
# --- section: trust (issue 8)
crm customer add --name "Chen Jing" --email chen.jing@gmail.com --phone "+86 139 1111 2222" --city Hangzhou --tag vip >/dev/null 2>&1
crm customer add --name "Chen  Jing" --email "Chen.Jing+shop@googlemail.com" --city Hangzhou --field wechat=cj_88 >/dev/null 2>&1
crm customer add --name "Jing Chen" --phone "0086 139-1111-2222" --company "Tea House" >/dev/null 2>&1
step customer duplicates --by email,phone
step customer merge chen.jing@gmail.com "Chen.Jing+shop@googlemail.com" --dry-run
step customer merge chen.jing@gmail.com "Chen.Jing+shop@googlemail.com" --yes
step audit list --limit 3 --format md
merge_entry=$(crm sql "SELECT max(id) AS id FROM audit_log WHERE action = 'customer.merge'" --format csv | tail -n 1 | tr -d '\r')
step undo "$merge_entry" --yes
step sql "SELECT action, count(*) AS entries FROM audit_log GROUP BY action ORDER BY entries DESC" --format md
step db check
# --- section: tasks (issue 9)
printf '\nThe demo database is %s — try: node bin/crm.js --db %s customer list\n' "$CRM_DB" "$CRM_DB"
