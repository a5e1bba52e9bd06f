# Sourced by the third-party build scripts: extract_sources CACHE TARBALL WHAT FILE... takes the
# named files (paths inside the kernel tree) that the cache lacks out of Debian's kernel source
# tarball into CACHE/src, and nothing else (the sources are GPL-2.0: they live in the cache, never
# in the repository). Returns 0 when every file is there, 2 when the tarball is missing (the caller
# skips), 1 when extracting failed.
extract_sources() {
  local cache=$1 tarball=$2 what=$3 top=linux-source-6.1
  shift 3
  local missing=() f
  for f in "$@"; do [ -f "$cache/src/$f" ] || missing+=("$f"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ -f "$tarball" ] || return 2
  mkdir -p "$cache/src"
  local tmp
  tmp=$(mktemp -d "$cache/extract.XXXXXX")
  tar -xJf "$tarball" -C "$tmp" "${missing[@]/#/$top/}" || { rm -rf "$tmp"; echo "third-party: cannot extract $what's files from $tarball" >&2; return 1; }
  for f in "${missing[@]}"; do mkdir -p "$cache/src/$(dirname "$f")"; mv "$tmp/$top/$f" "$cache/src/$f"; done
  rm -rf "$tmp"
  echo "third-party: extracted ${#missing[@]} files for $what from $tarball into $cache/src"
}
