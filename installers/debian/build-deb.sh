#!/usr/bin/env bash
# Build the Debian package from the one-folder bundle (make bundle):
#   installers/debian/build-deb.sh dist/workstation dist [VERSION]
# gives dist/workstation_VERSION_amd64.deb with the bundle in /opt/workstation, the command
# /usr/bin/workstation, a desktop entry and icon, /etc/workstation/site.toml as a conffile and
# the system libraries Qt and PortAudio need as dependencies (run-packages.txt).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bundle=${1:?usage: build-deb.sh BUNDLE_DIR OUT_DIR [VERSION]}
out=${2:?usage: build-deb.sh BUNDLE_DIR OUT_DIR [VERSION]}
version=${3:-$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/pyproject.toml" | head -1)}

if [[ ! -x "$bundle/workstation" ]]; then
    echo "build-deb.sh: $bundle/workstation is missing: build the bundle first (make bundle)." >&2
    exit 1
fi
command -v dpkg-deb >/dev/null || { echo "build-deb.sh: dpkg-deb is missing (apt-get install dpkg-dev)." >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pkg="$work/workstation"
mkdir -p "$pkg/DEBIAN" "$pkg/opt" "$pkg/usr/bin" "$pkg/usr/share/applications" \
    "$pkg/usr/share/icons/hicolor/256x256/apps" "$pkg/etc/workstation" \
    "$pkg/usr/share/doc/workstation"
cp -a "$bundle" "$pkg/opt/workstation"
ln -s /opt/workstation/workstation "$pkg/usr/bin/workstation"
install -m 644 "$here/package/workstation.desktop" "$pkg/usr/share/applications/"
install -m 644 "$root/resources/workstation.png" "$pkg/usr/share/icons/hicolor/256x256/apps/"
install -m 644 "$here/package/site.toml" "$pkg/etc/workstation/site.toml"
install -m 644 "$root/installers/site.example.toml" "$pkg/usr/share/doc/workstation/"
install -m 644 "$root/docs/IT.md" "$pkg/usr/share/doc/workstation/"
cat > "$pkg/usr/share/doc/workstation/copyright" <<COPYRIGHT
Workstation: provider workstation for telehealth video visits.
The bundle in /opt/workstation carries Python and the libraries listed in
/opt/workstation/_internal (their licence files are in their *.dist-info folders).
COPYRIGHT
install -m 755 "$here/package/postinst" "$here/package/postrm" "$pkg/DEBIAN/"
echo /etc/workstation/site.toml > "$pkg/DEBIAN/conffiles"

depends=$(grep -v '^\s*#' "$here/run-packages.txt" | grep -v '^\s*$' | paste -sd, - | sed 's/,/, /g')
cat > "$pkg/DEBIAN/control" <<CONTROL
Package: workstation
Version: $version
Section: misc
Priority: optional
Architecture: amd64
Maintainer: Workstation Project <workstation@invalid>
Installed-Size: $(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
Depends: libc6 (>= 2.36), $depends
Recommends: gnome-keyring | kwalletmanager
Description: provider workstation for telehealth video visits
 The clinician's desktop app for on-demand and scheduled video visits: the live
 queue and the day's schedule, the chart, video and audio over WebRTC,
 diagnosis, plan, e-prescribing and sign-off; with an embedded visit hub or a
 clinic's. Site settings: /etc/workstation/site.toml.
CONTROL

mkdir -p "$out"
deb="$out/workstation_${version}_amd64.deb"
dpkg-deb --root-owner-group -Zzstd -z9 --build "$pkg" "$deb" >/dev/null
echo "$deb"
