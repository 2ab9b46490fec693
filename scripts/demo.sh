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
# --- section: tasks (issue 9)
# Two customers of our own, so this section also runs on its own (skipped if they already exist).
crm customer add --name "Li Wei" --email li.wei@example.com --tag vip >/dev/null 2>&1 || true
crm customer add --name "Anna Schmidt" --email anna@example.com --tag vip >/dev/null 2>&1 || true
step task add li.wei@example.com --title "Confirm the order" --due today
step task add li.wei@example.com --title "Send the quote" --due tomorrow --priority high --assignee anna
step task add anna@example.com --title "Call back about delivery" --due "tomorrow 16:00" --assignee anna
printf '\n\033[1m$ crm task add anna@example.com --title "Monthly check-in" --due yesterday --every 1m\033[0m\n'
monthly=$(crm task add anna@example.com --title "Monthly check-in" --due yesterday --every 1m)
echo "$monthly"
step task add --tag vip --after-last-contact 30d --title "Check in with VIPs"
step task list --due this-week
step task done "$monthly" --note "All fine, renewing next month"
step customer list --not-contacted 30d
step agenda
step agenda --for tomorrow --assignee anna --format md
printf '\nThe demo database is %s — try: node bin/crm.js --db %s customer list\n' "$CRM_DB" "$CRM_DB"
