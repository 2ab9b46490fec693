#!/usr/bin/env bash
# `npm run demo`: builds a demo database from examples/ in .demo/ and shows what crm does.
set -euo pipefail
cd "$(dirname "$0")/.."
export CRM_DB="$PWD/.demo/crm.db"
rm -rf .demo && mkdir -p .demo
crm() { node bin/crm.js "$@"; }
# Echo each command as it could be typed (quoted where needed), bold on a terminal, then run it.
if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
quote() { local a out=''; for a in "$@"; do if [[ $a =~ ^[A-Za-z0-9_./:@%+=,-]+$ ]]; then out+=" $a"; else out+=" '${a//\'/\'\\\'\'}'"; fi; done; printf '%s' "${out# }"; }
step() { printf '\n%s$ crm %s%s\n' "$bold" "$(quote "$@")" "$plain"; crm "$@"; }

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
# A few customers of its own, so this section also runs on its own.
for who in "Chen Jing|chen.jing@sales-demo.example|Hangzhou|34" "Lukas Müller|lukas@sales-demo.example|Berlin|41" "Sofia Rossi|sofia@sales-demo.example|Shanghai|29"; do
  IFS='|' read -r name email city age <<<"$who"
  crm customer add --name "$name" --email "$email" --city "$city" --age "$age" >/dev/null 2>&1 || true
done
# Half a year of sales, dated relative to today so the report always shows recent months.
for line in "chen.jing|Tea set|1,280.00|170" "lukas|Teapot|199|160" "sofia|Gift box|2,400|140" "chen.jing|Oolong 250g|88.50|120" \
            "lukas|Tea set|1,280.00|100" "sofia|Cups x6|320|75" "chen.jing|Gift box|2,400|60" "lukas|Matcha 100g|129|40" \
            "sofia|Tea set|1,280.00|20" "chen.jing|Teapot|199|8"; do
  IFS='|' read -r who product amount ago <<<"$line"
  crm sale record --customer "$who@sales-demo.example" --product "$product" --amount "$amount" --date "${ago}d-ago" 2>/dev/null >/dev/null
done
step sale record --customer lukas@sales-demo.example --product "Puer cake" --amount "¥358" --quantity 2 --date yesterday
returned=$(crm sale record --customer sofia@sales-demo.example --product Teapot --amount 199 --date 3d-ago 2>/dev/null)
step sale void "$returned" --reason "returned, cracked lid"
office=$(crm deal add --customer chen.jing@sales-demo.example --title "Office tea supply" --value 12,000 --close-date 30d-ago 2>/dev/null)
step deal add --customer lukas@sales-demo.example --title "Hotel gift boxes" --value 8,500 --stage proposal --close-date tomorrow
fair=$(crm deal add --customer sofia@sales-demo.example --title "Trade fair stand" --value 3,000 2>/dev/null)
crm deal add --customer sofia@sales-demo.example --title "Wedding favours" --value 4,200 --stage negotiation --probability 80 >/dev/null 2>&1
step deal move "$office" proposal
step deal move "$office" won
step deal move "$fair" lost --reason "went with a cheaper supplier"
step deal list
step report sales --by month
step report sales --period this-month --by product --format csv
crm segment create big-buyers --where 'total_spent > 3000' >/dev/null 2>&1 || true
crm segment create berlin --where 'city = "Berlin"' >/dev/null 2>&1 || true
step report sales --period last-30d --by segment
step report sales --by quarter --segment big-buyers
step report pipeline
# --- section: tickets (issue 5)
# Two customers of our own, so this section also runs on its own (the lead reconciles with imports).
crm customer add --name "Wang Fang" --email wang.fang@example.com --city Hangzhou >/dev/null 2>&1 || true
crm customer add --name "Tom Baker" --email tom.baker@example.com --city London >/dev/null 2>&1 || true
# Requests that came in earlier are recorded with --opened, so some are past their due time now.
t1=$(crm ticket open --customer wang.fang@example.com --subject "Invoice for order 1042 missing" --priority high --opened "yesterday 09:00" 2>/dev/null)
t2=$(crm ticket open --customer tom.baker@example.com --subject "App crashes at login" --kind problem --priority urgent --opened "yesterday 18:00" 2>/dev/null)
t3=$(crm ticket open --customer wang.fang@example.com --subject "Delivery was two weeks late" --kind complaint --opened "3d-ago 10:00" 2>/dev/null)
t4=$(crm ticket open --customer tom.baker@example.com --subject "Love the new dashboard" --kind feedback --priority low 2>/dev/null)
t5=$(crm ticket open --customer tom.baker@example.com --subject "How do I export my contacts?" --opened "today 00:00" 2>/dev/null)
crm ticket update "$t1" --status pending --assignee mei --comment "Asked for the order number" 2>/dev/null
crm ticket resolve "$t3" --solution "Refunded the shipping fee" 2>/dev/null
crm ticket rate "$t3" --score 4 --comment "Quick refund" 2>/dev/null
crm ticket update "$t4" --assignee li 2>/dev/null
crm ticket resolve "$t5" --solution "Sent the export guide" 2>/dev/null
crm ticket rate "$t5" --score 5 2>/dev/null
step ticket list --overdue
step ticket show "$t1"
step report tickets --period last-30d
# --- section: segments (issue 6)
step segment create east-big --where 'city in ("Shanghai", "Hangzhou") and age between 25 and 40 and total_spent > 1000' --description 'big spenders in the east'
step segment show east-big
step segment breakdown --by age:18,25,35,50
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
# One segment's customers, for a spreadsheet (a BOM so Excel reads the UTF-8 names).
step export customers --segment east-big --bom --output .demo/east-big.csv
cat .demo/east-big.csv
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
crm segment create vip-customers --where 'tag = "vip"' >/dev/null 2>&1 || true
step task add --segment vip-customers --title "Invite to the autumn tasting" --due +7d
step task list --due this-week
step task done "$monthly" --note "All fine, renewing next month"
step customer list --not-contacted 30d --limit 10
step agenda
step agenda --for tomorrow --assignee anna --format md
printf '\nThe demo database is %s — try: node bin/crm.js --db %s customer list\n' "$CRM_DB" "$CRM_DB"
