#!/usr/bin/env bash
# Fails if a tracked file refers to the process that produced the project
# (a numbered session, issue or turn, or what a reviewer asked) rather than
# to the product. CHANGELOG.md is the one place history belongs; binary files
# and lock files are not checked. Prints file:line:text for every match.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"

# The last alternative is quoted in two pieces so that this script does not
# match itself.
pattern='\bsession [0-9]+\b|\bissue [0-9]+\b|\bturn [0-9]+\b|the '"reviewer asked"
found=0
while IFS= read -r -d '' file; do
  case "$file" in
    CHANGELOG.md | Cargo.lock | */Cargo.lock | package-lock.json | */package-lock.json) continue ;;
  esac
  [ -f "$file" ] || continue
  # -I skips binary files; -H and -n print file:line.
  if grep -IHniE -- "$pattern" "$file"; then
    found=1
  fi
done < <(git ls-files -z)

if [ "$found" -ne 0 ]; then
  echo "words.sh: the lines above refer to how the project was made; say what the product does instead (history goes in CHANGELOG.md)." >&2
  exit 1
fi
