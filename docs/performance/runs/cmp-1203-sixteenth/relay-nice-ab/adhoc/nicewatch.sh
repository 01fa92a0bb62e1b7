#!/bin/bash
# renice every thread of the relay (dist/backend/src/main.js) to $1, every 2 s, while $2 (pid) lives
N=$1; P=$2
while kill -0 $P 2>/dev/null; do
  for pid in $(pgrep -f "dist/backend/src/main.js"); do
    for t in /proc/$pid/task/*; do renice -n $N -p $(basename $t) >/dev/null 2>&1; done
  done
  sleep 2
done
