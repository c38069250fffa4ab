#!/usr/bin/env bash
# Fetch the pinned Java jars into .jars/<classpath>/ and verify every one against java/jars.sha256.
#   .jars/writer/   Jackcess 4.0.10 + commons-lang3 3.18.0 + commons-logging 1.2   (the IDB writer)
#   .jars/replica/  UCanAccess 4.0.4 + HSQLDB 2.4.1 + Jackcess 2.2.0 + commons-lang 2.6
#                   + commons-logging 1.1.3                                         (national reader replica)
# Each classpath is exactly the dependencies listed in java/<classpath>/pom.xml (no transitive jars).
# Idempotent: when every pinned jar is already present with the right hash, Maven is not run.
# Any hash mismatch, missing jar or unexpected extra jar fails loudly (exit 1).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
jars="${IAPT_IDB_JARS_DIR:-$root/.jars}"
pins="$here/jars.sha256"

verify() {  # verify <dir>: every pinned jar present with the pinned hash, nothing else in the classpath folders
  local dir="$1" ok=0
  (cd "$dir" && sha256sum --check --strict --quiet "$pins") || ok=1
  for cp in writer replica; do
    for f in "$dir/$cp"/*.jar; do
      [ -e "$f" ] || continue
      if ! grep -q "  $cp/$(basename "$f")\$" "$pins"; then
        echo "fetch-jars: unexpected jar $f (not pinned in java/jars.sha256)" >&2
        ok=1
      fi
    done
  done
  return $ok
}

if [ -d "$jars/writer" ] && [ -d "$jars/replica" ] && verify "$jars" 2>/dev/null; then
  echo "fetch-jars: all $(grep -c . "$pins") jars present and verified in $jars"
  exit 0
fi

command -v mvn >/dev/null || { echo "fetch-jars: Maven (mvn) not found; run 'make system-deps'" >&2; exit 1; }

staging="$(mktemp -d "${jars%/}.staging.XXXXXX")"
trap 'rm -rf "$staging"' EXIT
for cp in writer replica; do
  echo "fetch-jars: resolving the $cp classpath with Maven (java/$cp/pom.xml)"
  mvn -q -B -C -Dstyle.color=never -f "$here/$cp/pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$staging/$cp" -DexcludeTransitive=true
done

if ! verify "$staging"; then
  echo "fetch-jars: SHA-256 VERIFICATION FAILED: the downloaded jars do not match java/jars.sha256." >&2
  echo "fetch-jars: nothing was installed into $jars. Do not edit the pins to make this pass" >&2
  echo "fetch-jars: unless you have checked the new jars' provenance." >&2
  exit 1
fi

mkdir -p "$jars"
for cp in writer replica; do
  rm -rf "$jars/$cp"
  mv "$staging/$cp" "$jars/$cp"
done
echo "fetch-jars: installed and verified $(grep -c . "$pins") jars in $jars"
