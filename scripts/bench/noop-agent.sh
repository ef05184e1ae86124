#!/bin/sh
# B8's no-op agent: writes the stage's artefact with a passing verdict and exits.
# Everything a real agent would cost beyond this one process is left out on purpose.
set -e
mkdir -p "$(dirname "$CONVEYOR_ARTIFACT")"
case "$CONVEYOR_STAGE" in
  review) v='review_status: approved' ;;
  testing) v='tests_status: passed' ;;
  deploy-staging) v='staging_status: ok' ;;
  deploy) v='deploy_status: ok' ;;
  *) v='verdict: ready' ;;
esac
printf -- '---\n%s\n---\nno-op %s\n' "$v" "$CONVEYOR_STAGE" > "$CONVEYOR_ARTIFACT"
