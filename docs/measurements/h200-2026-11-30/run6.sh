#!/usr/bin/env bash
# Sixth device call (2026-11-30): the wall's whole CPU path per frame on a GPU,
# before and after the text layers were kept from frame to frame.
# render-old3: text prepared every frame; render-new3: kept layers, and the
# status line changing every frame in both. Both print
# the per-frame table and then the whole path (read six maps from two shards,
# paper scale, encode and submit).
cd "$(dirname "$0")/../../.."
B=.devbench6
source docs/measurements/h200-2026-11-30/device-env.sh
for i in 1 2 3; do for b in old3 new3; do
  echo "== render-$b run $i"
  timeout 60 $B/render-$b --bench nothing-else 2>&1 | grep -E '^size|^1920|^3840|^per-frame|^whole'
done; done 2>&1 | tee $OUT/render-text-2.txt
