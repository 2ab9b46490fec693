#!/bin/sh
# A report job for cron: writes today's reports as files, each one atomically (--output writes a
# temp file and renames it), so a reader never sees half a report. Copy it and adapt.
#
#   crontab -e
#   # every weekday at 07:00, reports into ~/crm-reports; cron mails anything printed on stderr
#   0 7 * * 1-5  CRM_DB="$HOME/.local/share/crm/crm.db" /path/to/crm/examples/cron-report.sh
#   # the same for an encrypted database (crm db encrypt): cron cannot be asked for the key, so name
#   # its key file (chmod 600, outside the database's folder and its backups)
#   0 7 * * 1-5  CRM_KEY_FILE="$HOME/.config/crm/key" CRM_DB="$HOME/.local/share/crm/crm.db" /path/to/crm/examples/cron-report.sh
#
# Settings (environment): CRM_DB the database (else crm's default), CRM_KEY_FILE the key file of an
# encrypted database, CRM_REPORT_DIR where the files go (default ~/crm-reports), CRM the crm command
# (default: this checkout's bin/crm.js).
# cron has no terminal: crm never prompts there (it fails with exit 2 instead), and `set -e` stops
# at the first failing report so cron reports the error.
set -eu
PATH="/usr/local/bin:/usr/bin:/bin:$PATH"
here=$(cd "$(dirname "$0")" && pwd)
out="${CRM_REPORT_DIR:-$HOME/crm-reports}"
day=$(date +%Y-%m-%d)
crm() {
  if [ -n "${CRM:-}" ]; then "$CRM" --no-input "$@"; else node "$here/../bin/crm.js" --no-input "$@"; fi
}
mkdir -p "$out"

# Customers, every field, for a spreadsheet.
crm customer list --format csv --output "$out/customers-$day.csv"
# Sales of the month so far, by product, and last month by day (reproducible: --as-of today).
crm report sales --period this-month --by product --format csv --output "$out/sales-by-product-$day.csv"
crm report sales --period last-month --by day --as-of today --format csv --output "$out/sales-last-month-$day.csv"
# The pipeline and the support desk, as Markdown for a mail or a wiki.
crm report pipeline --format md --output "$out/pipeline-$day.md"
crm report tickets --period last-30d --format md --output "$out/tickets-$day.md"
# Today's agenda: tasks, overdue tickets, deals closing this week, customers going quiet.
crm agenda --format md --output "$out/agenda-$day.md"
