#!/bin/sh
# Slim one image's packages (/opt/site) in its build stage, before the runtime stage copies
# them: drop the packages' own test suites, the debug and local symbols of native libraries
# (what Debian's dh_strip removes: dynamic symbols stay, so loading is unchanged) and the
# botocore models of every AWS service the image never calls.
#   prune_site.sh [SERVICE...]   no SERVICE: keep every model (the CLI, the emulator)
# sts and the SSO services stay: botocore's credential chain calls them for role profiles.
set -eu
site=${SITE:-/opt/site}
find "$site" -type d -name tests -prune -exec rm -rf {} +
# a library that patchelf rewrote (auditwheel's vendored ones) can come out of strip unloadable
# ("ELF load command address/offset not page-aligned"): keep a stripped copy only if it loads
find "$site" -type f \( -name '*.so' -o -name '*.so.*' \) | while read -r lib; do
  if strip --strip-unneeded -o "$lib.stripped" "$lib" 2>/dev/null \
    && python3 -c 'import ctypes, sys; ctypes.CDLL(sys.argv[1])' "$lib.stripped" 2>/dev/null; then
    mv "$lib.stripped" "$lib"
  else
    rm -f "$lib.stripped"
  fi
done
if [ "$#" -gt 0 ]; then
  for model in "$site"/botocore/data/*/; do
    case " $* sts sso sso-oidc " in
      *" $(basename "$model") "*) ;;
      *) rm -rf "$model" ;;
    esac
  done
fi
