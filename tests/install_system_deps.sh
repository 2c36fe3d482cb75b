#!/usr/bin/env bash
# Install the Debian packages the test suite needs when they are missing:
# R with the survey and psych packages (reference values) and Chromium (browser test of briefs).
set -euo pipefail
need=()
command -v Rscript >/dev/null 2>&1 || need+=(r-base-core)
Rscript -e 'quit(status = !requireNamespace("survey", quietly = TRUE))' >/dev/null 2>&1 || need+=(r-cran-survey)
Rscript -e 'quit(status = !requireNamespace("psych", quietly = TRUE))' >/dev/null 2>&1 || need+=(r-cran-psych)
Rscript -e 'quit(status = !requireNamespace("MASS", quietly = TRUE))' >/dev/null 2>&1 || need+=(r-cran-mass)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "Installing Debian packages: ${need[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
