#!/usr/bin/env bash
# Installs what is missing, builds, and starts sosproxy on the demo enterprise
# (config/examples/demo.yaml): SIP on 127.0.0.1:5060, UDP and TCP. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release
exec build/proxy/sosproxy --config config/examples/demo.yaml "$@"
