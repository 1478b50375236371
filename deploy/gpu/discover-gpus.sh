#!/usr/bin/env bash
# Spark GPU discovery script (spark.executor.resource.gpu.discoveryScript /
# spark.driver.resource.gpu.discoveryScript): prints the GPUs this host offers as
#   {"name": "gpu", "addresses": ["0", "1", ...]}
# Spark hands each task the addresses it was assigned (TaskContext.resources()); Tessera's embed
# and collaborate stages bind their CUDA device to the first one.
# TESSERA_GPU_ADDRESSES (comma-separated) overrides detection, e.g. to pin executors to devices.
set -euo pipefail

addresses=""
if [ -n "${TESSERA_GPU_ADDRESSES:-}" ]; then
  addresses="$TESSERA_GPU_ADDRESSES"
elif command -v nvidia-smi >/dev/null 2>&1; then
  addresses="$(nvidia-smi --query-gpu=index --format=csv,noheader 2>/dev/null | tr -d ' ' | paste -sd, -)"
fi

json=""
IFS=',' read -r -a list <<< "$addresses"
for a in "${list[@]}"; do
  [ -n "$a" ] || continue
  json="${json:+$json, }\"$a\""
done
printf '{"name": "gpu", "addresses": [%s]}\n' "$json"
