#!/usr/bin/env bash
# Build the offline base image for CI: Debian bookworm minbase with Python 3 (no JRE: only the
# consumer image needs one, and installs it from the same Debian mirror), made with mmdebstrap
# from the machine's own Debian mirror (no image registry is reachable). Users elsewhere do
# not need this: the Dockerfile defaults to the official python image, pinned by digest.
#   DOCKER_HOST=... scripts/docker-base-image.sh [tag]
set -euo pipefail
tag="${1:-stockpipe-base:bookworm}"
if /usr/bin/docker image inspect "$tag" >/dev/null 2>&1; then echo "$tag exists" >&2; exit 0; fi
sources=$(ls /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
  /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
mirror=$(cat $sources 2>/dev/null | grep -E '^(URIs:|deb )' | grep -v security \
  | awk '{print $2}' | head -1 || true)
[ -n "$mirror" ] || { echo "no Debian mirror found in the apt sources" >&2; exit 1; }
echo "building $tag from $mirror" >&2
# like python:*-slim: no recommends, no docs, man pages or translations, no byte-compiled
# standard library, no perl: mmdebstrap installs usrmerge (which needs perl) to merge /usr;
# once merged, usr-is-merged stands in for it and perl goes (~46 MB in every image)
mmdebstrap --variant=minbase --quiet \
  --aptopt='APT::Install-Recommends "false"' \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
  --include=python3,python3-pip,ca-certificates,usr-is-merged \
  --customize-hook='rm -f "$1"/usr/lib/python3*/EXTERNALLY-MANAGED' \
  --customize-hook='find "$1"/usr/lib/python3* -name __pycache__ -prune -exec rm -rf {} +' \
  --customize-hook='chroot "$1" apt-get purge -y -qq usrmerge perl libperl5.36 perl-modules-5.36 >/dev/null' \
  --customize-hook='chroot "$1" apt-get autoremove -y -qq --purge >/dev/null' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
  bookworm - "$mirror" | /usr/bin/docker import - "$tag" >/dev/null
echo "$tag built" >&2
