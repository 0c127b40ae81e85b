#!/bin/sh
# The blind-pairs configurations: built-in premium tier and a second world, SmolLM2 and a Qwen2.5 1.5B.
# Usage: tools/review/final_runs.sh CHAIN OUT WORLD   CHAIN: smol | q15 ; run from the checkout's root.
# Each run writes pairs-<config>.jsonl, key-<config>.jsonl and stats-<config>.json into OUT.
set -u
CHAIN=$1; OUT=$2; WORLD=${3:?a world file (JSON Lines) for the world-side configurations}
Q15=${Q15_MODEL:-qwen2.5-coder-1.5b-q4km}
run() { nice -n 5 python3 -m tools.review.llm_pairs --out "$OUT" --sample "${SAMPLE:-30}" --split final "$@"; }
case $CHAIN in
  smol)
    run --config smol-enrich-builtin --enhance enrich --tier premium
    run --config smol-enrich-world --enhance enrich --world "$WORLD"
    run --config smol-enrich4-builtin --enhance enrich --candidates 4 --tier premium
    run --config smol-enrich4-world --enhance enrich --candidates 4 --world "$WORLD"
    ;;
  q15)
    run --config q15-enrich-builtin --model "$Q15" --enhance enrich --tier premium
    run --config q15-sentence-builtin --model "$Q15" --enhance sentence --tier premium
    run --config q15-enrich-world --model "$Q15" --enhance enrich --world "$WORLD"
    run --config q15-sentence-world --model "$Q15" --enhance sentence --world "$WORLD"
    ;;
esac
