#!/usr/bin/env bash
# Time whole commands in one run: shroud against sops 3.11 and rops on the
# same generated ~3 MB YAML file with 100,000 leaves, plus peak memory.
#
#   scripts/bench.sh            # needs hyperfine, sops and (optionally) rops on PATH
#
# Results go to stdout as markdown; docs/benchmarks.md records a run.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-10}
cargo build --release -q
shroud=$PWD/target/release/shroud
key=$PWD/testdata/keys/alice.txt
pub=$(sed -n 's/^# public key: //p' "$key")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 scripts/gen-bench-file.py "$work"
export SOPS_DISABLE_VERSION_CHECK=1 SOPS_AGE_KEY_FILE=$key
ls -l "$work"/bench.yaml "$work"/bench.json

have() { command -v "$1" >/dev/null 2>&1; }

# Encrypted inputs for the decrypt runs, each tool's own.
"$shroud" encrypt --age "$pub" "$work/bench.yaml" > "$work/shroud.enc.yaml"
"$shroud" encrypt --age "$pub" "$work/bench.json" > "$work/shroud.enc.json"
args=()
args+=(-n "shroud encrypt yaml" "$shroud encrypt --age $pub $work/bench.yaml > /dev/null")
args+=(-n "shroud decrypt yaml" "$shroud decrypt $work/shroud.enc.yaml > /dev/null")
args+=(-n "shroud encrypt json" "$shroud encrypt --age $pub $work/bench.json > /dev/null")
args+=(-n "shroud decrypt json" "$shroud decrypt $work/shroud.enc.json > /dev/null")
for f in toml env; do
  "$shroud" encrypt --age "$pub" "$work/bench.$f" > "$work/shroud.enc.$f"
  args+=(-n "shroud encrypt $f" "$shroud encrypt --age $pub $work/bench.$f > /dev/null")
  args+=(-n "shroud decrypt $f" "$shroud decrypt $work/shroud.enc.$f > /dev/null")
done
if have sops; then
  sops encrypt --age "$pub" "$work/bench.yaml" > "$work/sops.enc.yaml"
  args+=(-n "sops encrypt yaml" "sops encrypt --age $pub $work/bench.yaml > /dev/null")
  args+=(-n "sops decrypt yaml" "sops decrypt $work/sops.enc.yaml > /dev/null")
else
  echo "sops not on PATH: skipping it" >&2
fi
if have rops; then
  # rops reads the key from ROPS_AGE, and refuses a file path whenever
  # stdin is not a terminal, so it gets its input on stdin.
  export ROPS_AGE
  ROPS_AGE=$(grep '^AGE-SECRET-KEY' "$key")
  rops encrypt --age "$pub" -f yaml < "$work/bench.yaml" > "$work/rops.enc.yaml"
  args+=(-n "rops encrypt yaml" "rops encrypt --age $pub -f yaml < $work/bench.yaml > /dev/null")
  args+=(-n "rops decrypt yaml" "rops decrypt -f yaml < $work/rops.enc.yaml > /dev/null")
else
  echo "rops not on PATH: skipping it (cargo install rops-cli)" >&2
fi

hyperfine --style basic --warmup 1 --runs "$runs" --export-markdown "$work/times.md" "${args[@]}" >&2
cat "$work/times.md"

echo
echo "| command | peak RSS (KiB) | input (KiB) |"
echo "|---|---|---|"
for f in yaml json toml env; do
  in_kib=$(( $(stat -c %s "$work/bench.$f") / 1024 ))
  rss=$(/usr/bin/time -f %M "$shroud" encrypt --age "$pub" "$work/bench.$f" 2>&1 >/dev/null | tail -1)
  echo "| shroud encrypt $f | $rss | $in_kib |"
  rss=$(/usr/bin/time -f %M "$shroud" decrypt "$work/shroud.enc.$f" 2>&1 >/dev/null | tail -1)
  echo "| shroud decrypt $f | $rss | $in_kib |"
done
