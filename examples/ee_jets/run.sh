#!/usr/bin/env bash
# e+e- -> 3, 4 and 5 jets with the built-in exact ME, step by step with the fame CLI (what `fame demo` does in one go).
#   examples/ee_jets/run.sh [OUT] [POINTS] [SECONDS]
set -euo pipefail
out=${1:-ee-jets-output}
points=${2:-20000}
seconds=${3:-90}
fame=${FAME:-.venv/bin/fame}
for n in 3 4 5; do
  "$fame" generate ee --jets "$n" --points "$points" --ycut 0.01 --seed "$n" --out "$out/train/ee_${n}j.npz"
  "$fame" generate ee --jets "$n" --points "$((points * 2))" --ycut 0.01 --seed "$((n + 100))" \
    --out "$out/validate/ee_${n}j.npz"
  "$fame" me "$out/validate/ee_${n}j.npz"          # the stored |M|^2 is the built-in exact ME
done
"$fame" groups "$out/train"
"$fame" train "$out/train" --out "$out/bundle" --max-seconds "$seconds"
for n in 3 4 5; do "$fame" predict "$out/bundle" "$out/validate/ee_${n}j.npz"; done
"$fame" validate "$out/bundle" "$out/validate" --out "$out/bundle/report"

