# How to start each proxy under test. Sourced by run.sh. Every start_<name> function
# sets PROXY_PID and PROXY_CA (the CA the client must trust for bumped connections), or
# returns non-zero with SKIP_REASON set. Uses $WORK, $TEST_CA, $UPSTREAM_PORT, free_port,
# and $EGRESS_THREADS (bottle-egress --threads; 0 or unset = its default).

start_mitmproxy() {
  command -v mitmdump >/dev/null || { SKIP_REASON="mitmdump not installed (apt-get install mitmproxy)"; return 1; }
  local dir=$WORK/mitmproxy port
  port=$(free_port)
  mkdir -p "$dir/conf"
  # Pinned confdir: mitmproxy mints its CA there on first start.
  mitmdump --listen-host 127.0.0.1 --listen-port "$port" --set confdir="$dir/conf" \
    --set ssl_verify_upstream_trusted_ca="$TEST_CA/ca.pem" --set termlog_verbosity=error \
    --set flow_detail=0 >"$dir/log" 2>&1 &
  PROXY_PID=$!
  PROXY_PORT=$port
  PROXY_LOG=$dir/log
  PROXY_CA=$dir/conf/mitmproxy-ca-cert.pem
  wait_ready "$port" "$PROXY_PID" "$PROXY_CA"
}

start_squid() {
  local certgen=/usr/lib/squid/security_file_certgen
  command -v squid >/dev/null && [ -x $certgen ] ||
    { SKIP_REASON="squid with ssl-bump not installed (apt-get install squid-openssl)"; return 1; }
  local dir=$WORK/squid port
  port=$(free_port)
  mkdir -p "$dir"
  mint_ca "$dir/ca" "squid bench CA" || { SKIP_REASON="minting squid CA failed"; return 1; }
  $certgen -c -s "$dir/ssl_db" -M 16MB >"$dir/certgen.log" 2>&1 ||
    { SKIP_REASON="security_file_certgen -c failed: $(tail -1 "$dir/certgen.log")"; return 1; }
  # Squid drops root for the 'proxy' user: it must read its CA and write its cert db.
  chown -R proxy:proxy "$dir"
  cat >"$dir/squid.conf" <<CONF
http_port 127.0.0.1:$port ssl-bump generate-host-certificates=on dynamic_cert_mem_cache_size=16MB tls-cert=$dir/ca/ca.pem tls-key=$dir/ca/ca-key.pem
sslcrtd_program $certgen -s $dir/ssl_db -M 16MB
sslcrtd_children 2 startup=1 idle=1
ssl_bump bump all
tls_outgoing_options cafile=$TEST_CA/ca.pem
http_access allow all
cache deny all
cache_mem 8 MB
workers 1
access_log none
cache_store_log none
cache_log $dir/cache.log
pid_filename $dir/squid.pid
coredump_dir $dir
visible_hostname bottle-bench
shutdown_lifetime 1 seconds
cache_effective_user proxy
CONF
  squid -N -f "$dir/squid.conf" >"$dir/log" 2>&1 &
  PROXY_PID=$!
  PROXY_PORT=$port
  PROXY_LOG=$dir/cache.log
  PROXY_CA=$dir/ca/ca.pem
  wait_ready "$port" "$PROXY_PID" "$PROXY_CA"
}

start_bottle_egress() { start_egress_with ""; }

# The same proxy with DLP off in both directions: what the scanners cost.
start_bottle_egress_nodlp() { start_egress_with "dlp: {outbound: off, inbound: off}"; }

# start_egress_with EXTRA_YAML: bottle-egress per SPEC 4.1, EXTRA_YAML added at the top level.
start_egress_with() {
  local extra=$1
  [ -n "$EGRESS" ] && [ -x "$EGRESS" ] ||
    { SKIP_REASON="bottle-egress not built (looked for ${EGRESS:-build*/proxy/bottle-egress}; pass --egress PATH)"; return 1; }
  local dir=$WORK/bottle-egress${extra:+-variant} port admin
  port=$(free_port)
  admin=$(free_port)
  mkdir -p "$dir"
  mint_ca "$dir/ca" "bottle bench CA" || { SKIP_REASON="minting bottle CA failed"; return 1; }
  cat >"$dir/routes.yaml" <<YAML
log: off
$extra
routes:
  - host: bench.test
    port: $UPSTREAM_PORT
    allow_private: true
YAML
  "$EGRESS" --config "$dir/routes.yaml" --listen "127.0.0.1:$port" --admin "127.0.0.1:$admin" \
    --ca-cert "$dir/ca/ca.pem" --ca-key "$dir/ca/ca-key.pem" --upstream-ca "$TEST_CA/ca.pem" \
    --resolve "bench.test:$UPSTREAM_PORT:127.0.0.1" \
    ${EGRESS_THREADS:+$([ "$EGRESS_THREADS" = 0 ] || echo --threads "$EGRESS_THREADS")} >"$dir/log" 2>&1 &
  PROXY_PID=$!
  PROXY_PORT=$port
  PROXY_LOG=$dir/log
  PROXY_CA=$dir/ca/ca.pem
  wait_ready "$port" "$PROXY_PID" "$PROXY_CA"
}
