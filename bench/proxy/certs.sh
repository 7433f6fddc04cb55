# Test PKI for the proxy benchmark, made with the openssl CLI (scripts only; our binaries
# use BoringSSL). Sourced by run.sh.

# mint_ca DIR NAME: DIR/ca.pem + DIR/ca-key.pem, ECDSA P-256, CA:TRUE.
mint_ca() {
  local dir=$1 name=$2
  mkdir -p "$dir"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=$name" -keyout "$dir/ca-key.pem" -out "$dir/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>"$dir/openssl.log" || { cat "$dir/openssl.log" >&2; return 1; }
}

# mint_server_cert CA_DIR HOST OUT_DIR: OUT_DIR/cert.pem + key.pem for HOST, signed by CA_DIR.
mint_server_cert() {
  local ca=$1 host=$2 out=$3
  mkdir -p "$out"
  printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\n' "$host" \
    >"$out/ext.cnf"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$host" \
    -keyout "$out/key.pem" -out "$out/req.csr" 2>"$out/openssl.log" &&
    openssl x509 -req -in "$out/req.csr" -CA "$ca/ca.pem" -CAkey "$ca/ca-key.pem" -CAcreateserial \
      -days 2 -extfile "$out/ext.cnf" -out "$out/cert.pem" 2>>"$out/openssl.log" ||
    { cat "$out/openssl.log" >&2; return 1; }
}
