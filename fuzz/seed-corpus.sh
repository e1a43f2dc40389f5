#!/usr/bin/env bash
# Builds the fuzz seed corpus in fuzz/corpus/<target>/: the tests' own crafted
# packets and streams, plus packets and small captures from ../shared/corpus/
# (see tests/fuzz_corpus.rs, write_seed_corpus). Then, where cargo-fuzz works,
# `cargo fuzz cmin <target>` shrinks it to the inputs that add coverage.
set -euo pipefail
cd "$(dirname "$0")/.."
SCANWALL_SEED_DIR="$PWD/fuzz/corpus" \
  cargo test --test fuzz_corpus write_seed_corpus -- --ignored --exact
for t in parse_packet read_stream sflow_datagram netflow_datagram sensor_frames sealed_records config_file; do
  echo "fuzz/corpus/$t: $(ls fuzz/corpus/$t | wc -l) inputs"
done
