#!/usr/bin/env bash
# The dashboard in a real browser: Debian's headless Chromium, driven by
# playwright-core from the npm registry (no browser is downloaded).
#
#   tests/browser/run.sh BUILD_DIR
#
# Imports the demo month and a few hostile inputs into a fresh SQLite store,
# starts `dmarcwatch serve` on a free loopback port with one dashboard user,
# runs dashboard.test.js against it and stops the server. Screenshots and the
# server's log go to BUILD_DIR/tests/browser-output/. Exits with the test's
# status. Builds nothing: BUILD_DIR must hold a built dmarcwatch.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="$(cd "${1:?usage: tests/browser/run.sh BUILD_DIR}" && pwd)"
bin="$build/dmarcwatch"
out="$build/tests/browser-output"
chromium="${CHROMIUM:-/usr/bin/chromium}"

[ -x "$bin" ] || { echo "browser_test: $bin is missing; build the dmarcwatch target first" >&2; exit 1; }
command -v node >/dev/null || { echo "browser_test: node is missing (scripts/install-deps.sh test)" >&2; exit 1; }
[ -x "$chromium" ] || { echo "browser_test: $chromium is missing (scripts/install-deps.sh test)" >&2; exit 1; }

# playwright-core only, pinned by package-lock.json, from the npm registry.
if [ ! -d "$here/node_modules/playwright-core" ]; then
  echo "browser_test: installing playwright-core with npm"
  if [ -f "$here/package-lock.json" ]; then
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
  else
    (cd "$here" && npm install --no-audit --no-fund --loglevel=error)
  fi
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/dmarcwatch-browser.XXXXXX")"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    # A graceful stop, bounded: then it is killed.
    for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

mkdir -p "$out"
rm -f "$out"/*.png "$out"/server.log

# The demo configuration plus one dashboard user.
user="admin"
password="browser-test-password"
hash="$(printf '%s\n' "$password" | "$bin" passwd)"
config="$tmp/dmarcwatch.toml"
cp "$root/samples/demo/dmarcwatch.toml" "$config"
cat >>"$config" <<EOF

[[users]]
name = "$user"
password_hash = '$hash'
domains = ["*"]
EOF

dw() { "$bin" --config "$config" --db "$tmp/db" --offline "$@"; }

# Alerts to an SMTP port where nothing listens: the demo month's incidents
# open and their emails wait in the outbox (the overview lists the
# incidents, the intake page the delivery error).
smtp_port="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();});')"
cat >>"$config" <<EOF

[alerts]
recipients = ["postmaster@example.com"]
[alerts.smtp]
host = "127.0.0.1"
port = $smtp_port
tls = "none"
from = "dmarcwatch@example.com"
timeout = "2s"
EOF

dw import --quiet "$root/samples/demo/reports" >/dev/null
dw alerts check --as-of 2026-11-01 >/dev/null 2>&1 || true

# Hostile inputs: markup in every field a page shows. The XML escapes it, so
# the parsed values are the raw characters the dashboard must show as text.
mkdir -p "$tmp/hostile"
cat >"$tmp/hostile/hostile-report.xml" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<feedback>
  <report_metadata>
    <org_name>&lt;script&gt;alert(1)&lt;/script&gt;</org_name>
    <email>reports@hostile.example</email>
    <report_id>hostile-&lt;img src=x onerror=alert(2)&gt;</report_id>
    <date_range><begin>1793404800</begin><end>1793491199</end></date_range>
  </report_metadata>
  <policy_published>
    <domain>example.com</domain><adkim>r</adkim><aspf>r</aspf><p>none</p><sp>none</sp><pct>100</pct>
  </policy_published>
  <record>
    <row>
      <source_ip>203.0.113.250</source_ip>
      <count>3</count>
      <policy_evaluated>
        <disposition>none</disposition><dkim>fail</dkim><spf>fail</spf>
        <reason><type>other</type><comment>&lt;img src=x onerror="window.__xss=1"&gt;</comment></reason>
      </policy_evaluated>
    </row>
    <identifiers>
      <header_from>example.com</header_from>
      <envelope_from>&lt;svg onload=window.__xss=2&gt;.example</envelope_from>
    </identifiers>
    <auth_results>
      <dkim><domain>example.com</domain><selector>&lt;img src=x onerror=window.__xss=3&gt;</selector><result>fail</result></dkim>
      <spf><domain>&lt;b&gt;spf&lt;/b&gt;.example</domain><result>fail</result></spf>
    </auth_results>
  </record>
</feedback>
EOF
# Not well-formed, and named like markup: it is rejected and kept.
printf '<feedback><report_metadata><org_name>broken</org_name>\n' \
  >"$tmp/hostile/<img src=x onerror=alert(3)>.xml"
dw import --quiet "$tmp/hostile" >/dev/null

# A watched folder with one report in it, old enough to be taken: serve
# scans it at start (the intake page shows the scan).
mkdir -p "$tmp/browser-watch"
sed 's/<report_id>[^<]*</<report_id>browser-watch-1</' \
  "$(find "$root/samples/demo/reports" -name '*.xml' | sort | head -1)" >"$tmp/browser-watch/w.xml"
touch -d '1 hour ago' "$tmp/browser-watch/w.xml"
cat >>"$config" <<EOF

[[watch]]
path = "$tmp/browser-watch"
interval = "1m"
EOF

port="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();});')"
url="http://127.0.0.1:$port"
# Started directly, not through dw(): $! must be the server itself, so that
# the trap stops it and not only a subshell around it.
"$bin" --config "$config" --db "$tmp/db" --offline serve --listen "127.0.0.1:$port" \
  >"$out/server.log" 2>&1 &
server_pid=$!

ready=""
for _ in $(seq 1 150); do
  kill -0 "$server_pid" 2>/dev/null || { echo "browser_test: the server exited:" >&2; cat "$out/server.log" >&2; exit 1; }
  if node -e "fetch('$url/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))" 2>/dev/null; then
    ready=1
    break
  fi
  sleep 0.2
done
[ -n "$ready" ] || { echo "browser_test: $url/healthz did not answer" >&2; exit 1; }
for _ in $(seq 1 100); do [ -f "$tmp/browser-watch/done/w.xml" ] && break; sleep 0.2; done
[ -f "$tmp/browser-watch/done/w.xml" ] || { echo "browser_test: serve did not scan the watched folder" >&2; cat "$out/server.log" >&2; exit 1; }

set +e
DW_URL="$url" DW_OUT="$out" DW_USER="$user" DW_PASSWORD="$password" CHROMIUM="$chromium" \
  node "$here/dashboard.test.js"
status=$?
set -e
exit "$status"
