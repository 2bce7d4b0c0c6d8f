#!/usr/bin/env bash
# Export every workshop notebook as a reveal.js slideshow (HTML), using the slide types
# stored in the cells' metadata. The saved outputs are used as they are: nothing is re-run.
#
#   scripts/export_slides.sh [OUTPUT_DIR]      (default: build/slides)
#
# Open OUTPUT_DIR/<notebook>.slides.html in a browser. reveal.js is loaded from a CDN, so
# presenting needs internet access; inside JupyterLab, jupyterlab-rise presents offline.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-build/slides}"
mkdir -p "$out"
shopt -s nullglob
notebooks=(notebooks/*.ipynb)
if [ "${#notebooks[@]}" -eq 0 ]; then
    echo "No notebooks found in notebooks/." >&2
    exit 1
fi
for notebook in "${notebooks[@]}"; do
    jupyter nbconvert --to slides --log-level=ERROR --output-dir "$out" "$notebook"
    echo "$out/$(basename "${notebook%.ipynb}").slides.html"
done
