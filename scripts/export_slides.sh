#!/usr/bin/env bash
# Export every workshop notebook as a reveal.js slideshow that works offline:
# OUTPUT_DIR/<notebook>.slides.html plus OUTPUT_DIR/assets/ (reveal.js, MathJax, fonts),
# linked by relative paths, so the folder can be zipped and opened anywhere.
# The saved outputs are used as they are: nothing is re-run.
#
#   scripts/export_slides.sh [OUTPUT_DIR]      (default: build/slides)
#
# Same as `python scripts/export_slides.py`, which also takes --notebook and --cache.
set -euo pipefail
exec python "$(dirname "$0")/export_slides.py" "$@"
