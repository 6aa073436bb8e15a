#!/usr/bin/env bash
# package.sh — build dist/etapiste-point_<version>_amd64.deb and dist/etapiste-server_<version>_amd64.deb
# with Debian's own tools (dpkg-buildpackage, debhelper; lintian checks them), version = pyproject.toml's.
#
#   scripts/package.sh [--version V] [--out DIR] [--no-lintian]
#
# --version V builds the packages as version V (pyproject.toml's version is rewritten in the build copy,
# so 'etapiste --version' inside says V too): for tests that need versions N and N+1.
#
# Steps: copy the source (tracked and new files, as in the working tree) to a build directory; fetch the
# wheels of every dependency once into a wheelhouse cached by the dependency list's hash (the only step
# that needs the network); dpkg-buildpackage -b builds both packages offline from it. The result is cached
# by the hash of the source and the wheelhouse: an unchanged tree is not built again.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${ETAPISTE_PACKAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/etapiste-packaging}
out=$here/dist
version=
lint=yes
while [ $# -gt 0 ]; do
    case "$1" in
        --version) version=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --no-lintian) lint=no; shift ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "package.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
for tool in dpkg-buildpackage dh lintian /usr/bin/python3.11; do
    command -v "$tool" >/dev/null || { echo "package.sh: $tool is missing (scripts/apt-packages.txt)" >&2; exit 2; }
done
pyproject_version=$(/usr/bin/python3.11 -c 'import tomllib,sys; print(tomllib.load(open(sys.argv[1],"rb"))["project"]["version"])' "$here/pyproject.toml")
version=${version:-$pyproject_version}
[[ $version =~ ^[0-9][A-Za-z0-9.+~]{0,63}$ ]] || { echo "package.sh: '$version' is not a version" >&2; exit 2; }
mkdir -p "$cache" "$out"

# 1. The wheelhouse: every dependency's wheel (and the build backend), for Debian's Python 3.11.
deps_hash=$(/usr/bin/python3.11 -c 'import tomllib,sys,json; d=tomllib.load(open(sys.argv[1],"rb")); print(json.dumps([d["project"]["dependencies"], d["build-system"]["requires"]]))' "$here/pyproject.toml" | sha256sum | cut -c1-16)
wheelhouse=$cache/wheelhouse-$deps_hash
if [ ! -f "$wheelhouse/.complete" ]; then
    echo "package.sh: fetching the wheelhouse ($wheelhouse)"
    rm -rf "$wheelhouse" "$cache/wheel-venv"
    /usr/bin/python3.11 -m venv "$cache/wheel-venv"
    "$cache/wheel-venv/bin/pip" install -q --upgrade pip
    reqs=$(/usr/bin/python3.11 -c 'import tomllib,sys; d=tomllib.load(open(sys.argv[1],"rb")); print("\n".join(d["project"]["dependencies"] + d["build-system"]["requires"]))' "$here/pyproject.toml")
    printf '%s\n' "$reqs" > "$cache/requirements-$deps_hash.txt"
    PIP_CONFIG_FILE=/dev/null "$cache/wheel-venv/bin/pip" wheel -q -w "$wheelhouse" -r "$cache/requirements-$deps_hash.txt"
    touch "$wheelhouse/.complete"
fi

# 2. The source as it is in the working tree (tracked and untracked-but-not-ignored files).
# Only what the packages are built from: not the simulation, the tests, the benchmarks or the docs
# (development only), so a change there does not rebuild the packages.
src_list=$(cd "$here" && git ls-files -co --exclude-standard -- . ':!dist' ':!simulation' ':!tests' ':!bench' ':!docs' \
           | sort)
src_hash=$( (cd "$here" && printf '%s\n' "$src_list" | while IFS= read -r f; do
                [ -e "$f" ] || [ -L "$f" ] || continue
                if [ -L "$f" ]; then printf '%s -> %s\n' "$f" "$(readlink "$f")"; else sha256sum "$f"; fi
            done; echo "$version $deps_hash") | sha256sum | cut -c1-16)
point=etapiste-point_${version}_amd64.deb
server=etapiste-server_${version}_amd64.deb
built=$cache/built-$src_hash
if [ -f "$built/$point" ] && [ -f "$built/$server" ]; then
    cp -f "$built/$point" "$built/$server" "$out/"
    echo "package.sh: unchanged source ($src_hash): $out/$point $out/$server (cached)"
    exit 0
fi
work=$cache/work-$src_hash
rm -rf "$work"
mkdir -p "$work/etapiste"
(cd "$here" && printf '%s\n' "$src_list" | while IFS= read -r f; do
    if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\n' "$f"; fi
done | tar -cf - --no-recursion -T -) | tar -xf - -C "$work/etapiste"
cd "$work/etapiste"
# The wheelhouse was chosen by the working tree's pyproject.toml a few minutes ago; the copy must still
# name the same dependencies (another engineer may have added one meanwhile).
copied_hash=$(/usr/bin/python3.11 -c 'import tomllib,sys,json; d=tomllib.load(open(sys.argv[1],"rb")); print(json.dumps([d["project"]["dependencies"], d["build-system"]["requires"]]))' pyproject.toml | sha256sum | cut -c1-16)
[ "$copied_hash" = "$deps_hash" ] \
    || { echo "package.sh: pyproject.toml's dependencies changed during the build; run it again" >&2; exit 1; }
if [ "$version" != "$pyproject_version" ]; then
    sed -i "0,/^version = .*/s//version = \"$version\"/" pyproject.toml
fi
cat > debian/changelog <<CHL
etapiste ($version) bookworm; urgency=medium

  * Release $version (pyproject.toml's version; built by scripts/package.sh).

 -- etapiste contributors <etapiste@example.org>  $(date -R)
CHL
start=$(date +%s)
ETAPISTE_WHEELHOUSE=$wheelhouse dpkg-buildpackage -b -uc -us --no-sign > "$work/build.log" 2>&1 \
    || { tail -n 40 "$work/build.log" >&2; echo "package.sh: the build failed; log: $work/build.log" >&2; exit 1; }
echo "package.sh: built in $(( $(date +%s) - start )) s"
cd "$work"
if [ "$lint" = yes ]; then
    # Errors fail the build; warnings are printed for the reader.
    lintian --fail-on error --suppress-tags-from-file /dev/null "$point" "$server" | tee "$work/lintian.log" \
        || { echo "package.sh: lintian reports errors (above)" >&2; exit 1; }
fi
mkdir -p "$built"
cp -f "$point" "$server" "$built/"
cp -f "$point" "$server" "$out/"
rm -rf "$work/etapiste"
ls -l "$out/$point" "$out/$server"
