#!/usr/bin/env bash
# Fetch the pinned Java jars into .jars/<classpath>/ and verify every one against java/jars.sha256.
#   .jars/writer/   Jackcess 4.0.10 + commons-lang3 3.18.0 + commons-logging 1.2   (the IDB writer)
#   .jars/replica/  UCanAccess 4.0.4 + HSQLDB 2.4.1 + Jackcess 2.2.0 + commons-lang 2.6
#                   + commons-logging 1.1.3                                         (national reader replica)
#   .jars/writer-helper/  the project's own helper jar, built here from java/writer-helper (JDK 17 + Maven),
#                   with BUILD.sha256: the SHA-256 of its sources and of the jar, checked by the writer
# Each classpath is exactly the dependencies listed in java/<classpath>/pom.xml (no transitive jars).
# Idempotent: when every pinned jar is already present with the right hash, and the helper was built from
# the current sources, Maven is not run.
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

tmpdirs=()
trap 'rm -rf "${tmpdirs[@]}"' EXIT

helper_src="$here/writer-helper"
helper_name=iapt-idb-accdb-helper.jar
helper_sources() {  # sha256sum lines of the helper's sources, relative to java/writer-helper (as jars.py computes them)
  (cd "$helper_src" && find pom.xml src -type f | LC_ALL=C sort | xargs -d '\n' sha256sum)
}
helper_ok() {  # the installed helper was built from the current sources and is unchanged since
  local dir="$jars/writer-helper"
  [ -f "$dir/BUILD.sha256" ] && [ -f "$dir/$helper_name" ] || return 1
  [ "$(head -n -1 "$dir/BUILD.sha256")" = "$(helper_sources)" ] || return 1
  [ "$(tail -n 1 "$dir/BUILD.sha256")" = "$(cd "$dir" && sha256sum "$helper_name")" ]
}
build_helper() {
  command -v javac >/dev/null || { echo "fetch-jars: javac (JDK 17) not found; run 'make system-deps'" >&2; exit 1; }
  command -v mvn >/dev/null || { echo "fetch-jars: Maven (mvn) not found; run 'make system-deps'" >&2; exit 1; }
  echo "fetch-jars: building the writer helper with Maven (java/writer-helper/pom.xml)"
  local build out
  build="$(mktemp -d "${jars%/}.helper-build.XXXXXX")"
  tmpdirs+=("$build")
  out="$build/writer-helper"
  mvn -q -B -C -Dstyle.color=never -f "$helper_src/pom.xml" compiler:compile jar:jar -Dhelper.buildDir="$build/target"
  mkdir -p "$out"
  cp "$build/target/$helper_name" "$out/"
  { helper_sources; (cd "$out" && sha256sum "$helper_name"); } > "$out/BUILD.sha256"
  mkdir -p "$jars"
  rm -rf "$jars/writer-helper"
  mv "$out" "$jars/writer-helper"
  echo "fetch-jars: built $jars/writer-helper/$helper_name"
}

if [ -d "$jars/writer" ] && [ -d "$jars/replica" ] && verify "$jars" 2>/dev/null; then
  echo "fetch-jars: all $(grep -c . "$pins") jars present and verified in $jars"
  if helper_ok; then
    echo "fetch-jars: the writer helper is up to date with java/writer-helper"
  else
    build_helper
  fi
  exit 0
fi

command -v mvn >/dev/null || { echo "fetch-jars: Maven (mvn) not found; run 'make system-deps'" >&2; exit 1; }

staging="$(mktemp -d "${jars%/}.staging.XXXXXX")"
tmpdirs+=("$staging")
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
helper_ok || build_helper
