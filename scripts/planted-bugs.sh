#!/usr/bin/env bash
# Plants each bug of docs/testing/planted/*.patch, one at a time, into a scratch worktree of
# HEAD and runs the tests its `Caught-by:` line names: first unplanted (they must pass, so a
# failure cannot come from the environment), then planted (they must fail). Exits 1 when a
# plant goes uncaught or its tests fail without it. Usage: pnpm test:planted [patch ...]
set -uo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
patches=("$@")
[ ${#patches[@]} -gt 0 ] || patches=(docs/testing/planted/*.patch)

tmp=$(mktemp -d)
wt="$tmp/wt"
cleanup() { git worktree remove --force "$wt" >/dev/null 2>&1; rm -rf "$tmp"; }
trap cleanup EXIT
git worktree add -q --detach "$wt" HEAD
ln -s "$root/node_modules" "$wt/node_modules"
# Generated, git-ignored files the tests need.
cp -r backend/src/generated "$wt/backend/src/"
for p in prisma/*/schema.prisma; do cp "$p" "$wt/$p"; done

failed=0
for patch in "${patches[@]}"; do
  name=$(basename "$patch" .patch)
  tests=$(sed -n 's/^Caught-by: //p' "$patch" | head -n 1)
  if [ -z "$tests" ]; then
    echo "$name: no Caught-by: line"; failed=1; continue
  fi
  git -C "$wt" checkout -q -- .
  if ! (cd "$wt" && eval "npx jest --runInBand $tests" >"$tmp/$name.clean.log" 2>&1); then
    echo "$name: its tests fail WITHOUT the bug (see below); fix the environment first"
    tail -n 30 "$tmp/$name.clean.log"; failed=1; continue
  fi
  if ! git -C "$wt" apply "$root/$patch"; then
    echo "$name: the patch no longer applies to HEAD"; failed=1; continue
  fi
  if (cd "$wt" && eval "npx jest --runInBand $tests" >"$tmp/$name.log" 2>&1); then
    echo "$name: NOT CAUGHT by $tests"; failed=1
  else
    caught=$(grep -E '^\s+● ' "$tmp/$name.log" | sed 's/^\s*● //' | sort -u | head -n 5)
    echo "$name: caught by $tests"
    printf '%s\n' "$caught" | sed 's/^/    failed: /'
  fi
done
git -C "$wt" checkout -q -- .
exit "$failed"
