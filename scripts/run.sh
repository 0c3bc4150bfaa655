#!/usr/bin/env bash
# Install what is missing, build, and run the service. With no Twilio or AWS variables it runs on
# embedded defaults (local mode): state and recordings in ./data, webhooks signed with the token
# in data/local-credentials.json. Arguments go to `partyline serve` (e.g. --env-file .env).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release
exec build/partyline "$@"
