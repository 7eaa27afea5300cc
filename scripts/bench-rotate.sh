#!/usr/bin/env bash
# Time `shroud rotate -i` over 1,000 small encrypted files (issue 5's bulk
# target: under 5 s). Each file is encrypted separately (own data key), in
# five formats, then hyperfine rotates all of them per run; rotation works
# on its own output, so runs need no reset.
#
#   scripts/bench-rotate.sh          # needs hyperfine; RUNS=5 by default
#   SHROUD=target/debug/shroud scripts/bench-rotate.sh   # another build
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-5}
n=${FILES:-1000}
if [ -z "${SHROUD:-}" ]; then
  cargo build --release -q --bin shroud
  SHROUD=$PWD/target/release/shroud
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A private copy of the test key (shroud warns about group-readable keys).
install -m 600 testdata/keys/alice.txt "$work/key.txt"
pub=$(sed -n 's/^# public key: //p' "$work/key.txt")
export SOPS_AGE_KEY_FILE=$work/key.txt

mkdir "$work/files"
printf 'db:\n  user: app\n  password: hunter2\n  port: 5432\n' > "$work/p.yaml"
printf '{"token": "abc", "retries": 3, "tls": true}\n' > "$work/p.json"
printf 'TOKEN=abc\nPORT=5432\n' > "$work/p.env"
printf '[db]\npassword = hunter2\n' > "$work/p.ini"
printf '[db]\npassword = "hunter2"\nport = 5432\n' > "$work/p.toml"
exts=(yaml json env ini toml)
for ((i = 0; i < n; i++)); do
  ext=${exts[$((i % 5))]}
  "$SHROUD" encrypt --age "$pub" "$work/p.$ext" > "$work/files/f$i.$ext"
done
echo "$n files, $(du -sh "$work/files" | cut -f1)" >&2

hyperfine -N --warmup 1 --runs "$runs" \
  -n "shroud rotate -i ($n files)" \
  "$SHROUD rotate -i $(printf '%s ' "$work"/files/*)"
