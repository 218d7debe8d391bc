#!/bin/sh
# Bootstraps a federation (a clearinghouse and the grids in $GRIDS) with the
# operator's commands only — exactly what a clearinghouse operator and the
# grid admins type, in the order deploy/README.md describes. Run in three
# phases, each once the services it talks to are up:
#
#   bootstrap.sh init        nothing running yet: clearinghouse init, grid init per grid
#   bootstrap.sh federation  clearinghouse running: clearinghouse invite + grid join-federation per grid
#   bootstrap.sh grids       grid managers running: grid invite + join for every storage server,
#                            contact point, gateway and a client; clearinghouse approve-gateway
#
# Idempotent: every step has a marker — the file it produces (a config, an
# approval) or, for join-federation, DIR/federation.done — and is skipped when
# the marker exists, so a rerun after a partial failure finishes the rest and
# never creates a key twice (init and join keep an existing key.json).
# Invite codes are secrets: they go from one command to the next in a shell
# variable and are never printed.
#
# Addresses default to the compose service names (deploy/docker-compose.yml);
# every one can be set from the environment (the tests run this on loopback).
set -eu
umask 077

PHASE="${1:-}"
INTERGRID="${INTERGRID:-intergrid}"
ROOT="${INTERGRID_DEPLOY_ROOT:-/var/lib/intergrid}"
GRIDS="${GRIDS:-a b}"
STORAGE_SERVERS="${STORAGE_SERVERS:-3}"
CLEARINGHOUSE_ADDRESS="${CLEARINGHOUSE_ADDRESS:-clearinghouse:7300}"
CLEARINGHOUSE_LISTEN="${CLEARINGHOUSE_LISTEN:-0.0.0.0:7300}"
GRID_MANAGER_LISTEN="${GRID_MANAGER_LISTEN:-0.0.0.0:7000}"
STORAGE_PORT="${STORAGE_PORT:-7400}"
GATEWAY_PORT="${GATEWAY_PORT:-7500}"
CONTACT_POINT_PORT="${CONTACT_POINT_PORT:-7600}"
PRICE="${PRICE:-1000000}"
PRICE_CEILING="${PRICE_CEILING:-10000000}"

CH_DIR="$ROOT/clearinghouse"
CH_ADMIN="$CH_DIR/admin.json"

say() { printf 'bootstrap %s: %s\n' "$PHASE" "$*"; }
die() { printf 'bootstrap %s: %s\n' "$PHASE" "$*" >&2; exit 1; }
ig() { $INTERGRID "$@"; }

# Per-grid settings: AREA_CODE_A, GRID_MANAGER_ADDRESS_A, NATS_URL_A, NATS_USER_A … (grid a), defaults from the compose file;
# NATS_PASSWORD_A (grid a's nats-server password, as given to nats-a) has no default and is required.
grid_var() { # grid_var NAME GRID DEFAULT
  _up=$(printf '%s' "$2" | tr 'a-z-' 'A-Z_')
  eval "_v=\${$1_${_up}:-}"
  if [ -n "$_v" ]; then printf '%s' "$_v"; else printf '%s' "$3"; fi
}
area_code() { _i=0; for _g in $GRIDS; do _i=$((_i + 1)); [ "$_g" = "$1" ] && break; done; grid_var AREA_CODE "$1" "$((100 + _i))"; }
gm_address() { grid_var GRID_MANAGER_ADDRESS "$1" "grid-manager-$1:7000"; }
nats_url() { grid_var NATS_URL "$1" "nats://nats-$1:4222"; }
nats_user() { grid_var NATS_USER "$1" "intergrid"; }

# nats_credentials GRID: a credentials file (mode 0600 by umask, in a temp dir removed on exit) for
# --nats-credentials. The password is never printed and never on a command line.
TMP_DIR=$(mktemp -d)
trap 'rm -rf "$TMP_DIR"' EXIT
nats_credentials() {
  _pw=$(grid_var NATS_PASSWORD "$1" "")
  _var="NATS_PASSWORD_$(printf '%s' "$1" | tr 'a-z-' 'A-Z_')"
  [ -n "$_pw" ] || die "grid $1: $_var is not set (the password of its nats-server, 16+ characters; deploy/README.md)"
  _f="$TMP_DIR/nats-$1.json"
  printf '{"user": "%s", "password": "%s"}\n' "$(nats_user "$1")" "$_pw" > "$_f"
  printf '%s' "$_f"
}

# The 64 hex digits of the first "publicKey" in a JSON file (key.json, admin.json).
public_key() { grep -o '"publicKey": *"[0-9a-f]\{64\}"' "$1" | head -n 1 | grep -o '[0-9a-f]\{64\}'; }

for _g in $GRIDS; do
  case "$_g" in *[!a-z0-9-]* | "") die "grid name '$_g' must be lowercase letters, digits and -" ;; esac
done

# join_node GRID ROLE DIR CONFIG NAME [join flags…]: invite + join unless DIR/CONFIG exists.
join_node() {
  _g=$1 _role=$2 _dir=$3 _config=$4 _name=$5
  shift 5
  if [ -f "$_dir/$_config" ]; then say "$_g $_name: already joined ($_dir/$_config)"; return 0; fi
  _code=$(ig grid invite --admin "$ROOT/$_g/grid-manager/admin.json" --grid-manager "$(gm_address "$_g")" --role "$_role" --name "$_name" --expires 1h) ||
    die "$_g $_name: intergrid grid invite failed (is the grid manager at $(gm_address "$_g") up?)"
  ig join "$_code" --dir "$_dir" "$@" >/dev/null || die "$_g $_name: intergrid join failed"
  say "$_g $_name: joined as $_role ($_dir/$_config, key $(public_key "$_dir/key.json"))"
}

phase_init() {
  if [ -f "$CH_DIR/config.json" ] && [ -f "$CH_ADMIN" ]; then
    say "clearinghouse: already initialised ($CH_DIR)"
  else
    ig clearinghouse init --dir "$CH_DIR" --listen "$CLEARINGHOUSE_LISTEN" >/dev/null
    say "clearinghouse: initialised ($CH_DIR, key $(public_key "$CH_ADMIN"))"
  fi
  for g in $GRIDS; do
    dir="$ROOT/$g/grid-manager"
    if [ -f "$dir/config.json" ] && [ -f "$dir/admin.json" ]; then
      say "grid $g: already initialised ($dir)"
    else
      creds=$(nats_credentials "$g")
      ig grid init --dir "$dir" --area-code "$(area_code "$g")" --listen "$GRID_MANAGER_LISTEN" --nats "$(nats_url "$g")" --nats-credentials "$creds" >/dev/null
      say "grid $g: initialised, area code $(area_code "$g") ($dir, grid key $(public_key "$dir/admin.json"))"
    fi
  done
}

phase_federation() {
  [ -f "$CH_ADMIN" ] || die "$CH_ADMIN is missing: run 'bootstrap.sh init' first"
  for g in $GRIDS; do
    dir="$ROOT/$g/grid-manager"
    [ -f "$dir/config.json" ] || die "$dir/config.json is missing: run 'bootstrap.sh init' first"
    if [ -f "$dir/federation.done" ]; then say "grid $g: already in the federation"; continue; fi
    code=$(ig clearinghouse invite --admin "$CH_ADMIN" --clearinghouse "$CLEARINGHOUSE_ADDRESS" --name "$g" --area-code "$(area_code "$g")" --price "$PRICE") ||
      die "grid $g: intergrid clearinghouse invite failed (is the clearinghouse at $CLEARINGHOUSE_ADDRESS up?)"
    ig grid join-federation "$code" --config "$dir/config.json" > "$dir/federation.done.tmp" || die "grid $g: intergrid grid join-federation failed"
    mv "$dir/federation.done.tmp" "$dir/federation.done"
    say "grid $g: admitted as area code $(area_code "$g") at $CLEARINGHOUSE_ADDRESS"
  done
}

phase_grids() {
  [ -f "$CH_ADMIN" ] || die "$CH_ADMIN is missing: run 'bootstrap.sh init' first"
  ch_key=$(public_key "$CH_ADMIN")
  for g in $GRIDS; do
    [ -f "$ROOT/$g/grid-manager/federation.done" ] || die "grid $g is not in the federation yet: run 'bootstrap.sh federation' first"
    i=1
    while [ "$i" -le "$STORAGE_SERVERS" ]; do
      join_node "$g" storage "$ROOT/$g/storage-$i" config.json "storage-$g-$i" \
        --listen "0.0.0.0:$STORAGE_PORT" --advertise "storage-$g-$i:$STORAGE_PORT" --name "storage-$g-$i"
      i=$((i + 1))
    done
    join_node "$g" contact-point "$ROOT/$g/contact-point" config.json "contact-point-$g" \
      --listen "0.0.0.0:$CONTACT_POINT_PORT" --advertise "contact-point-$g:$CONTACT_POINT_PORT" --name "contact-point-$g" \
      --clearinghouse "$CLEARINGHOUSE_ADDRESS" --clearinghouse-key "$ch_key"
    gw="$ROOT/$g/gateway"
    creds=$(nats_credentials "$g")
    join_node "$g" gateway "$gw" config.json "gateway-$g" \
      --listen "0.0.0.0:$GATEWAY_PORT" --name "gateway-$g" --nats "$(nats_url "$g")" --nats-credentials "$creds" \
      --clearinghouse "$CLEARINGHOUSE_ADDRESS" --clearinghouse-key "$ch_key" --price-ceiling "$PRICE_CEILING"
    if [ -s "$gw/approval.b64" ]; then
      say "$g gateway-$g: already approved"
    else
      ig clearinghouse approve-gateway --admin "$CH_ADMIN" --clearinghouse "$CLEARINGHOUSE_ADDRESS" \
        --area-code "$(area_code "$g")" --key "$(public_key "$gw/key.json")" > "$gw/approval.b64.tmp" || die "$g gateway-$g: intergrid clearinghouse approve-gateway failed"
      chmod 644 "$gw/approval.b64.tmp"
      mv "$gw/approval.b64.tmp" "$gw/approval.b64"
      say "$g gateway-$g: approved by the clearinghouse ($gw/approval.b64)"
    fi
    join_node "$g" client "$ROOT/$g/client" client.json "client-$g" --gateway "gateway-$g:$GATEWAY_PORT" --gateway-key "$(public_key "$gw/key.json")"
  done
}

case "$PHASE" in
  init) phase_init ;;
  federation) phase_federation ;;
  grids) phase_grids ;;
  *) printf 'usage: bootstrap.sh init|federation|grids (see deploy/README.md)\n' >&2; exit 2 ;;
esac
say "done"
