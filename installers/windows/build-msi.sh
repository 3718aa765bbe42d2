#!/usr/bin/env bash
# Build the Windows Installer package from a PyInstaller bundle with Debian's wixl (msitools).
#
#   installers/windows/build-msi.sh BUNDLE_DIR OUT.msi [VERSION]
#
# BUNDLE_DIR  the one-folder bundle (dist/workstation): its workstation.exe (or, for a Linux
#             bundle built here, workstation) is authored in workstation.wxs, every other file is
#             harvested with wixl-heat.
# VERSION     the product version (default: `version = "..."` in pyproject.toml); Windows
#             Installer wants numbers only: major.minor.build (0-255.0-255.0-65535).
#
# wixl 0.101 ignores Property/@Secure, Property/@Hidden and CustomAction/@HideTarget and does not
# know PermissionEx, so after the build this script writes what WiX would have written from the
# same source: SecureCustomProperties, MsiHiddenProperties, the HideTarget bit (8192) of the
# custom action's type and the MsiLockPermissionsEx row of the site file's folder.
set -euo pipefail

die() {
    echo "build-msi.sh: $*" >&2
    exit 1
}

usage="usage: installers/windows/build-msi.sh BUNDLE_DIR OUT.msi [VERSION]"
[[ $# -ge 2 && $# -le 3 ]] || die "$usage"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
wxs="$here/workstation.wxs"

for tool in wixl wixl-heat msibuild msiinfo; do
    command -v "$tool" >/dev/null 2>&1 ||
        die "$tool is not installed (Debian: apt-get install wixl msitools)"
done

bundle=$1
[[ -d $bundle ]] || die "bundle folder $bundle does not exist (build it first: pyinstaller installers/workstation.spec)"
bundle=$(cd "$bundle" && pwd)
if [[ -f $bundle/workstation.exe ]]; then
    exe=workstation.exe
elif [[ -f $bundle/workstation ]]; then
    exe=workstation
else
    die "$bundle has neither workstation.exe nor workstation: not a workstation bundle"
fi

out=$2
[[ $out == *.msi ]] || die "the output file must end in .msi: $out"
out_dir=$(dirname "$out")
[[ -d $out_dir ]] || die "output folder $out_dir does not exist"
out="$(cd "$out_dir" && pwd)/$(basename "$out")"

if [[ $# -eq 3 ]]; then
    version=$3
else
    version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$repo/pyproject.toml" | head -n 1)
    [[ -n $version ]] || die "no version = \"...\" line in $repo/pyproject.toml; give VERSION"
fi
if ! [[ $version =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)$ ]] ||
    ((BASH_REMATCH[1] > 255 || BASH_REMATCH[2] > 255 || BASH_REMATCH[3] > 65535)); then
    die "version $version is not a Windows Installer product version (major.minor.build, 0-255.0-255.0-65535)"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
msi="$work/$(basename "$out")" # moved to OUT.msi once complete

# wixl-heat writes file names into the XML as they are and wixl would expand $(...) in them.
bad=$(cd "$bundle" && find . -xtype f \( -name '*[&<>"]*' -o -name '*$(*' \) | head -n 5)
[[ -z $bad ]] || die "file names wixl-heat cannot write into XML: $bad"

# wixl resolves File/@Source only relative to the working directory (absolute paths fail), so
# it runs inside the bundle with AppDir=. and every other path is made relative to it.
# Files: regular files and symlinks to them (a Linux bundle links some libraries; wixl copies
# the target's content); dangling links are left out.
cd "$bundle"
LC_ALL=C find . -xtype f ! -path "./$exe" | LC_ALL=C sort |
    wixl-heat -p ./ --component-group CG.App --var var.AppDir --directory-ref INSTALLDIR --win64 \
        >"$work/app-files.wxs"
file_count=$(find . -xtype f | wc -l)

defines=(-D "Version=$version" -D AppDir=. -D "ExeName=$exe" -D Win64=yes -D Wixl=yes)
icon="$repo/resources/workstation.ico"
if [[ -f $icon ]]; then
    defines+=(-D "IconFile=$(realpath --relative-to=. "$icon")")
fi

echo "build-msi.sh: wixl: $file_count files from $bundle, version $version -> $out"
# The GLib warnings about Secure and Hidden are expected (see the top of this file).
status=0
wixl -a x64 "${defines[@]}" -o "$msi" "$wxs" "$work/app-files.wxs" 2>"$work/wixl.err" || status=$?
grep -v -e "has no property named 'Secure'" -e "has no property named 'Hidden'" -e '^$' \
    "$work/wixl.err" >&2 || true
((status == 0)) || die "wixl failed (exit $status)"

# --- what wixl 0.101 leaves out -------------------------------------------------------------
flat=$(tr '\n' ' ' <"$wxs")
table() { msiinfo export "$msi" "$1" | tr -d '\r'; } # tab-separated, 3 header lines, CRLF
property_value() { # the Value of a Property row, empty if none
    table Property | awk -F '\t' -v name="$1" 'NR > 3 && $1 == name { print $2 }'
}
sql() { msibuild "$msi" -q "$1" || die "msibuild failed: $1"; }
set_property() { # name value: update the row or add it
    if table Property | awk -F '\t' 'NR > 3 { print $1 }' | grep -qx "$1"; then
        sql "UPDATE \`Property\` SET \`Value\`='$2' WHERE \`Property\`='$1'"
    else
        sql "INSERT INTO \`Property\` (\`Property\`, \`Value\`) VALUES ('$1', '$2')"
    fi
}

# Public properties marked Secure="yes", added to the list MajorUpgrade started.
secure=$(property_value SecureCustomProperties)
for name in $(grep -o '<Property Id="[A-Z0-9_.]*"[^>]*Secure="yes"' <<<"$flat" | sed 's/.*Id="\([^"]*\)".*/\1/'); do
    [[ ";$secure;" == *";$name;"* ]] || secure=${secure:+$secure;}$name
done
set_property SecureCustomProperties "$secure"

# Hidden="yes": values kept out of the installation log.
hidden=$(grep -o '<Property Id="[A-Z0-9_.]*"[^>]*Hidden="yes"' <<<"$flat" | sed 's/.*Id="\([^"]*\)".*/\1/' | paste -sd ';' || true)
if [[ -n $hidden ]]; then
    set_property MsiHiddenProperties "$hidden"
fi

# HideTarget="yes": msidbCustomActionTypeHideTarget (8192), the command line is not logged.
for action in $(grep -o '<CustomAction [^>]*HideTarget="yes"[^>]*>' <<<"$flat" | sed 's/.*Id="\([^"]*\)".*/\1/'); do
    type=$(table CustomAction | awk -F '\t' -v a="$action" 'NR > 3 && $1 == a { print $2 }')
    [[ -n $type ]] || die "custom action $action is not in the package"
    sql "UPDATE \`CustomAction\` SET \`Type\`=$((type | 8192)) WHERE \`Action\`='$action'"
done

# PermissionEx (Windows Installer 5 MsiLockPermissionsEx): the ACL of the one CreateFolder folder.
mapfile -t sddls < <(grep -o '<PermissionEx Sddl="[^"]*"' <<<"$flat" | sed 's/.*Sddl="\([^"]*\)"/\1/')
if ((${#sddls[@]} > 0)); then
    mapfile -t folders < <(table CreateFolder | awk -F '\t' 'NR > 3 { print $1 }')
    ((${#sddls[@]} == 1 && ${#folders[@]} == 1)) ||
        die "expected one PermissionEx and one CreateFolder, found ${#sddls[@]} and ${#folders[@]}: extend build-msi.sh"
    sql "CREATE TABLE \`MsiLockPermissionsEx\` (\`MsiLockPermissionsEx\` CHAR(72) NOT NULL, \`LockObject\` CHAR(72) NOT NULL, \`Table\` CHAR(32) NOT NULL, \`SDDL\` LONGCHAR NOT NULL, \`Condition\` CHAR(255) PRIMARY KEY \`MsiLockPermissionsEx\`)"
    sql "INSERT INTO \`MsiLockPermissionsEx\` (\`MsiLockPermissionsEx\`, \`LockObject\`, \`Table\`, \`SDDL\`) VALUES ('Lock${folders[0]}', '${folders[0]}', 'CreateFolder', '${sddls[0]}')"
fi

packaged=$(table File | awk 'NR > 3' | wc -l)
((packaged == file_count)) || die "$file_count files in the bundle but $packaged in the package"
mv -f "$msi" "$out"

echo "== msiinfo suminfo $out"
msiinfo suminfo "$out"
echo "== msiinfo export $out Property"
msiinfo export "$out" Property
