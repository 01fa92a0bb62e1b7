#!/bin/bash
# interleaved A/B: relay nice 0 vs 10 at 8000, reps 2 per invocation, 3 rounds
cd /work/main
for round in 1 2 3; do
  for n in 0 10; do
    npx tsx scripts/compare-pack-plain.ts --rates 8000 --seconds 20 --reps 2 --out /work/exp/ab-n$n-r$round.json > /work/exp/ab-n$n-r$round.log 2>&1 &
    C=$!
    [ $n != 0 ] && /work/exp/nicewatch.sh $n $C &
    wait $C
  done
done
echo ALLDONE
