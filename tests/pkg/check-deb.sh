#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The Debian package on this machine (make check-deb): install the tools and
# build dependencies, build it with make deb, lint it, install it with apt,
# check what it installed, remove it (the configuration stays), purge it
# (nothing of it stays). A configuration file the admin had before is moved
# aside for the test and put back afterwards.
source "$(dirname "$0")/../e2e/lib.sh"
cd "$ROOT" || exit 1

VERSION=$(sed -n 's/^VERSION *:= *//p' Makefile)
ARCH=$(dpkg --print-architecture)
DEB=$ROOT/build/deb/nft-offload_${VERSION}_${ARCH}.deb
CONF=/etc/nft-offload.conf
UNIT=/lib/systemd/system/nft-offload.service
export DEBIAN_FRONTEND=noninteractive
APT=(apt-get -y -q -o DPkg::Lock::Timeout=600)

pkg_state() { dpkg-query -W -f='${db:Status-Abbrev}' nft-offload 2>/dev/null | tr -d ' '; }
pkg_cleanup() {
	[ -z "$(pkg_state)" ] || [ "$(pkg_state)" = un ] || "${APT[@]}" purge nft-offload >/dev/null 2>&1
	[ -e "$TMP/conf.saved" ] && mv -f "$TMP/conf.saved" "$CONF"
}
trap 'rc=$?; pkg_cleanup; (exit $rc); nfo_cleanup' EXIT

case $(pkg_state) in
"" | un | pn) ;;
*) say "Bail out! nft-offload is installed as a package ($(pkg_state)); the test installs and purges it: remove it first"
   exit 1 ;;
esac
if [ -e "$CONF" ]; then
	mv "$CONF" "$TMP/conf.saved"
	say "# moved the existing $CONF aside for the test; it is put back at the end"
fi

# ---- tools and build dependencies ----------------------------------------------
check "packaging tools installed (install-deps.sh deb)" ./scripts/install-deps.sh deb
if ! dpkg-checkbuilddeps 2>"$TMP/bdeps"; then
	say "# $(cat "$TMP/bdeps"): installing them"
	if ! { "${APT[@]}" update && "${APT[@]}" build-dep ./; } >"$TMP/bdeps.log" 2>&1; then
		sed 's/^/#   /' "$TMP/bdeps.log"
	fi
fi
check "Build-Depends of debian/control satisfied (dpkg-checkbuilddeps)" dpkg-checkbuilddeps

# ---- build and lint ---------------------------------------------------------------
t0=$(date +%s)
if ! make --no-print-directory deb >"$TMP/build.log" 2>&1; then
	fail "make deb"
	tail -n 30 "$TMP/build.log" | sed 's/^/#   /'
	nfo_done
fi
pass "make deb ($(($(date +%s) - t0)) s): $(basename "$DEB")"
check "nothing left in the parent directory" sh -c "! ls ../nft-offload*_${VERSION}_* 2>/dev/null"
check "debian/changelog version = Makefile VERSION ($VERSION)" \
	test "$(dpkg-parsechangelog -S Version)" = "$VERSION"
# Lintian refuses nothing as root but says it is not recommended: drop that line.
lintian --info --fail-on error "$ROOT/build/deb/nft-offload_${VERSION}_${ARCH}.changes" \
	>"$TMP/lintian" 2>&1
lrc=$?
grep -v 'running with root privileges' "$TMP/lintian" | sed 's/^/# lintian: /'
check "lintian: no errors (rc $lrc, $(grep -c '^E:' "$TMP/lintian") E:, $(grep -c '^W:' "$TMP/lintian") W:)" \
	test "$lrc" -eq 0

# The Depends field names the package of every shared library the binary
# really links (${shlibs:Depends}), and no other library.
dpkg-deb -x "$DEB" "$TMP/x"
deps=$(dpkg-deb -f "$DEB" Depends)
say "# Depends: $deps"
needed_ok() {
	local so file pkg
	for so in $(readelf -d "$TMP/x/usr/sbin/nft-offload" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p'); do
		file=$(ldconfig -p | awk -v s="$so" '$1 == s { print $NF; exit }')
		# dpkg knows the path it unpacked (/lib or /usr/lib: merged /usr)
		pkg=$( (dpkg -S "$file" || dpkg -S "$(readlink -f "$file")") 2>/dev/null | head -1 | cut -d: -f1)
		[ -n "$pkg" ] || { say "# $so: no package owns it"; return 1; }
		echo "$deps" | grep -Eq "(^|, )$pkg( |,|$)" || { say "# $so ($pkg) missing from Depends"; return 1; }
	done
}
check "Depends covers every NEEDED library of the binary" needed_ok

# ---- install ------------------------------------------------------------------------
if ! "${APT[@]}" install "$DEB" >"$TMP/install.log" 2>&1; then
	fail "apt-get install ./nft-offload_${VERSION}_${ARCH}.deb"
	tail -n 20 "$TMP/install.log" | sed 's/^/#   /'
	nfo_done
fi
pass "apt-get install ./nft-offload_${VERSION}_${ARCH}.deb"
check "dpkg: installed (ii)" test "$(pkg_state)" = ii
check "nft-offload --version: 'nft-offload $VERSION' from /usr/sbin" sh -c "
	[ \"\$(command -v nft-offload)\" = /usr/sbin/nft-offload ] &&
	nft-offload --version | grep -q '^nft-offload $VERSION '"
check "man page: man -w finds /usr/share/man/man8/nft-offload.8.gz" \
	test "$(man -w nft-offload 2>/dev/null)" = /usr/share/man/man8/nft-offload.8.gz
check "man page renders (NAME, CONFIGURATION FILE)" sh -c "
	man nft-offload 2>/dev/null | grep -q '^NAME' && man nft-offload 2>/dev/null | grep -q '^CONFIGURATION FILE'"
check "unit in $UNIT, ExecStart=/usr/sbin/nft-offload" \
	grep -qx 'ExecStart=/usr/sbin/nft-offload run -c /etc/nft-offload.conf' "$UNIT"
check "unit: systemd-analyze verify is clean" sh -c "
	out=\$(systemd-analyze verify $UNIT 2>&1); [ -z \"\$out\" ] || echo \"\$out\" | sed 's/^/# /'; [ -z \"\$out\" ]"
check "service not enabled on install (no wants symlink)" sh -c "
	! ls /etc/systemd/system/*.wants/nft-offload.service 2>/dev/null"
check "$CONF is the sample configuration" cmp -s packaging/nft-offload.conf "$CONF"
check "$CONF is a conffile" sh -c "dpkg-query -W -f='\${Conffiles}' nft-offload | grep -q '^ $CONF '"
dpkg -L nft-offload >"$TMP/files"
say "# dpkg -L: $(grep -c . "$TMP/files") paths"

# ---- remove: the configuration stays --------------------------------------------------
printf '# the admin'"'"'s own settings\ndevices = lan0 wan0\n' >"$CONF"
cp "$CONF" "$TMP/conf.admin"
apt_do() { "${APT[@]}" "$@" nft-offload >"$TMP/$1.log" 2>&1 || { sed 's/^/#   /' "$TMP/$1.log"; return 1; }; }
check "apt-get remove nft-offload" apt_do remove
check "dpkg: config files only (rc)" test "$(pkg_state)" = rc
check "remove: binary, man page and unit gone" sh -c "
	[ ! -e /usr/sbin/nft-offload ] && [ ! -e /usr/share/man/man8/nft-offload.8.gz ] && [ ! -e $UNIT ]"
check "remove: the admin's $CONF kept as it was" cmp -s "$TMP/conf.admin" "$CONF"

# ---- purge: nothing stays ---------------------------------------------------------------
check "apt-get purge nft-offload" apt_do purge
check "dpkg: not installed" sh -c "s=\$(dpkg-query -W -f='\${db:Status-Abbrev}' nft-offload 2>/dev/null | tr -d ' '); [ -z \"\$s\" ] || [ \"\$s\" = un ] || [ \"\$s\" = pn ]"
check "purge: $CONF gone" test ! -e "$CONF"
left_over() { # every file and package directory of dpkg -L is gone
	local p left=""
	while read -r p; do
		[ -d "$p" ] && [ "$p" != /usr/share/doc/nft-offload ] && continue
		[ -e "$p" ] && left="$left $p"
	done <"$TMP/files"
	left="$left $(ls -d /etc/systemd/system/*/nft-offload.service \
		/var/lib/systemd/deb-systemd-helper-*/nft-offload.service* 2>/dev/null | tr '\n' ' ')"
	[ -z "${left// /}" ] || { say "# left:$left"; return 1; }
}
check "purge: no file of the package nor systemd state left" left_over

nfo_done
