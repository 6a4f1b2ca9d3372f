#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Installing kapolicy the way users do, tested on the host (the module is
# built, installed into staging trees and packaged by DKMS, never loaded
# here), in TAP:
#   - "make install DESTDIR=" lays out exactly the files the README lists,
#     keeps an edited /etc/kapolicy.conf, respects PREFIX; "make uninstall"
#     removes exactly what install put there;
#   - systemd-analyze verify passes on the installed unit;
#   - "kapctl apply --check" accepts the installed /etc/kapolicy.conf;
#   - DKMS (a private tree: the host's /var/lib/dkms and /lib/modules are
#     not touched, except the host's depmod index being regenerated): for
#     every kernel line the selftests boot, "dkms add" of the sources
#     "make dkms-src" lays out (the module's sources only), "dkms
#     autoinstall" (what a kernel upgrade runs) builds and installs a
#     module with that kernel's vermagic, "dkms remove --all" leaves
#     nothing;
#   - the VM harness names the cause when a guest gives no verdict.
#
# KAP_HOST_TESTS=REGEX runs only the matching groups (install, unit, dkms,
# harness).  Logs: build/check/host/.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
logs=$top/build/check/host
rm -rf "$logs"
mkdir -p "$logs"
work=$(mktemp -d "$top/build/check/host-XXXXXX")
trap 'rm -rf "$work"' EXIT

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
fail() { n=$((n + 1)); failed=1; echo "not ok $n $1"; [ -z "${2:-}" ] || sed 's/^/# /' <<< "$2"; }
check() { local d=$1; shift; if "$@" > "$logs/last" 2>&1; then ok "$d"; else fail "$d" "$(tail -n 20 "$logs/last")"; fi; }
want() { [[ ${KAP_HOST_TESTS:-} == "" || $1 =~ ${KAP_HOST_TESTS} ]]; }

mapfile -t kernels < <(selftests/vm/vm.sh kernels)
[ ${#kernels[@]} -gt 0 ] || { echo "Bail out! no installed kernel with headers"; exit 1; }
krel=${kernels[0]}
version=$(sed -n 's/^#define KAP_VERSION "\(.*\)"/\1/p' module/version.h)

# The file list the README documents, between its install-files markers,
# with $(uname -r) standing for the release.
readme_files() {
	sed -n '/<!-- install-files -->/,/<!-- \/install-files -->/p' README.md |
		grep -E '^ +/' | sed -e 's/^ *//' -e "s/\$(uname -r)/$1/" | sort
}

staged_files() { (cd "$1" && find . -type f -o -type l) | sed 's|^\.||' | sort; }

# ---- make install / uninstall ----
if want install; then
	stage=$work/stage
	# the module is built in a copy, so that the checkout stays clean
	mkdir -p "$work/kbuild"
	cp -a Kbuild module sysfs "$work/kbuild/"
	export MODBUILD=$work/kbuild
	if make -s install DESTDIR="$stage" KERNELRELEASE="$krel" > "$logs/install.log" 2>&1; then
		ok "make install DESTDIR= KERNELRELEASE=$krel"
	else
		fail "make install DESTDIR= KERNELRELEASE=$krel" "$(tail -n 20 "$logs/install.log")"
	fi
	expected=$(readme_files "$krel")
	[ -n "$expected" ] || fail "the README lists the installed files" "no install-files block"
	got=$(staged_files "$stage")
	if [ -n "$expected" ] && [ "$expected" = "$got" ]; then
		ok "install lays out exactly the README's file list ($(wc -l <<< "$got") files)"
	else
		fail "install lays out exactly the README's file list" "$(diff <(echo "$expected") <(echo "$got"))"
	fi
	check "the installed module is for $krel" \
		bash -c "[ \"\$(modinfo -F vermagic '$stage/lib/modules/$krel/updates/kapolicy.ko' | cut -d' ' -f1)\" = '$krel' ]"
	check "the installed kapctl runs" "$stage/usr/sbin/kapctl" --version
	check "the installed unit runs the installed kapctl on /etc/kapolicy.conf" \
		grep -qx 'ExecStart=/usr/sbin/kapctl apply --missing-ok /etc/kapolicy.conf' \
		"$stage/lib/systemd/system/kapolicy.service"
	if ! grep -vE '^[[:space:]]*(#|$)' "$stage/etc/kapolicy.conf" | grep -q .; then
		ok "the installed /etc/kapolicy.conf has every policy commented out"
	else
		fail "the installed /etc/kapolicy.conf has every policy commented out" \
			"$(grep -vE '^[[:space:]]*(#|$)' "$stage/etc/kapolicy.conf")"
	fi
	out=$(KAPCTL_SYSFS=$work/nomodule "$stage/usr/sbin/kapctl" apply --check "$stage/etc/kapolicy.conf" 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && grep -q "0 policies, valid" <<< "$out"; then
		ok "kapctl apply --check accepts the installed /etc/kapolicy.conf"
	else
		fail "kapctl apply --check accepts the installed /etc/kapolicy.conf" "rc=$rc: $out"
	fi

	# an upgrade keeps an edited config; uninstall keeps it too, and says so
	echo "web lport=80 idle=60" >> "$stage/etc/kapolicy.conf"
	edited=$(cat "$stage/etc/kapolicy.conf")
	make -s install DESTDIR="$stage" KERNELRELEASE="$krel" > "$logs/reinstall.log" 2>&1
	if [ "$(cat "$stage/etc/kapolicy.conf")" = "$edited" ] &&
	   grep -q "^kept $stage/etc/kapolicy.conf" "$logs/reinstall.log"; then
		ok "reinstalling keeps an edited /etc/kapolicy.conf"
	else
		fail "reinstalling keeps an edited /etc/kapolicy.conf" "$(cat "$logs/reinstall.log")"
	fi
	make -s uninstall DESTDIR="$stage" KERNELRELEASE="$krel" > "$logs/uninstall.log" 2>&1
	got=$(staged_files "$stage")
	if [ "$got" = /etc/kapolicy.conf ] && grep -q "^kept $stage/etc/kapolicy.conf" "$logs/uninstall.log"; then
		ok "uninstall removes everything but the edited /etc/kapolicy.conf"
	else
		fail "uninstall removes everything but the edited /etc/kapolicy.conf" "left: $got"
	fi
	# every kernel line: the README's list, that kernel's vermagic, and
	# nothing left after uninstall (DESTDIR relative to the checkout, as
	# people type it)
	rstage=${work#"$top"/}/stage
	for rel in "${kernels[@]}"; do
		rm -rf "$stage"
		if [ "$rel" != "$krel" ]; then
			mkdir -p "$work/kbuild-$rel"
			cp -a Kbuild module sysfs "$work/kbuild-$rel/"
			export MODBUILD=$work/kbuild-$rel
		fi
		if ! make -s install DESTDIR="$rstage" KERNELRELEASE="$rel" \
			> "$logs/install-$rel.log" 2>&1 || [ -z "$(staged_files "$stage")" ]; then
			fail "make install DESTDIR=stage (relative) KERNELRELEASE=$rel" "$(tail -n 20 "$logs/install-$rel.log")"
			continue
		fi
		got=$(staged_files "$stage")
		ko=$stage/lib/modules/$rel/updates/kapolicy.ko
		if [ "$got" = "$(readme_files "$rel")" ] &&
		   [ "$(modinfo -F vermagic "$ko" 2>/dev/null | cut -d' ' -f1)" = "$rel" ]; then
			ok "$rel: install lays out the README's list, the module has vermagic $rel"
		else
			fail "$rel: install lays out the README's list, the module has vermagic $rel" \
				"$(diff <(readme_files "$rel") <(echo "$got"))"
		fi
		make -s uninstall DESTDIR="$rstage" KERNELRELEASE="$rel" > /dev/null 2>&1
		export MODBUILD=$work/kbuild
		got=$(staged_files "$stage")
		if [ -z "$got" ]; then
			ok "$rel: install then uninstall leaves no file"
		else
			fail "$rel: install then uninstall leaves no file" "left: $got"
		fi
	done

	local_stage=$work/local
	make -s install DESTDIR="$local_stage" PREFIX=/usr/local KERNELRELEASE="$krel" > "$logs/install-local.log" 2>&1
	if [ -n "$(staged_files "$local_stage")" ] && [ -x "$local_stage/usr/local/sbin/kapctl" ] &&
	   [ -f "$local_stage/usr/local/share/man/man8/kapctl.8" ] &&
	   grep -qx 'ExecStart=/usr/local/sbin/kapctl apply --missing-ok /etc/kapolicy.conf' \
		"$local_stage/usr/local/lib/systemd/system/kapolicy.service" &&
	   [ ! -e "$local_stage/usr/sbin/kapctl" ]; then
		ok "PREFIX=/usr/local: kapctl, man page and unit under /usr/local, the unit runs that kapctl"
	else
		fail "PREFIX=/usr/local: kapctl, man page and unit under /usr/local, the unit runs that kapctl" \
			"$(staged_files "$local_stage")"
	fi
	make -s uninstall DESTDIR="$local_stage" PREFIX=/usr/local KERNELRELEASE="$krel" > /dev/null 2>&1
	got=$(staged_files "$local_stage")
	if [ -z "$got" ]; then
		ok "PREFIX=/usr/local: uninstall leaves no file"
	else
		fail "PREFIX=/usr/local: uninstall leaves no file" "left: $got"
	fi
	unset MODBUILD
fi

# ---- the systemd unit ----
if want unit; then
	stage=$work/unit
	make -s -C userspace install DESTDIR="$stage" > "$logs/unit-install.log" 2>&1
	# verify checks that the commands exist: point the unit at the staged
	# kapctl, and man at the staged man page
	sed "s|/usr/sbin/kapctl|$stage/usr/sbin/kapctl|g" \
		"$stage/lib/systemd/system/kapolicy.service" > "$work/kapolicy.service"
	check "systemd-analyze verify kapolicy.service" \
		env MANPATH="$stage/usr/share/man:" systemd-analyze verify "$work/kapolicy.service"
	mkdir -p "$work/bad"
	sed 's|^ExecStart=[^ ]*|ExecStart=/nonexistent/kapctl|' "$work/kapolicy.service" > "$work/bad/kapolicy.service"
	if env MANPATH="$stage/usr/share/man:" systemd-analyze verify "$work/bad/kapolicy.service" > "$logs/verify-bad.log" 2>&1; then
		fail "systemd-analyze verify fails on a unit whose command does not exist" "$(cat "$logs/verify-bad.log")"
	else
		ok "systemd-analyze verify fails on a unit whose command does not exist"
	fi
fi

# ---- DKMS ----
if want dkms; then
	src=$work/dkms-src
	make -s dkms-src DESTDIR="$src" > "$logs/dkms-src.log" 2>&1
	tree_src=$src/usr/src/kapolicy-$version
	got=$(cd "$tree_src" && find . -type f | sed 's|^\./||' | sort)
	expected=$(ls Kbuild module/*.[ch] sysfs/*.[ch]; echo dkms.conf)
	expected=$(sort -u <<< "$expected")
	if [ "$got" = "$expected" ]; then
		ok "make dkms-src: the module's sources and dkms.conf only ($(wc -l <<< "$got") files)"
	else
		fail "make dkms-src: the module's sources and dkms.conf only" "$(diff <(echo "$expected") <(echo "$got"))"
	fi
	check "dkms.conf names version $version" grep -qx "PACKAGE_VERSION=\"$version\"" "$tree_src/dkms.conf"
	dtree=$work/dkms-tree inst=$work/dkms-inst
	export mok_signing_key=$work/mok.key mok_certificate=$work/mok.pub
	dkms=(dkms --dkmstree "$dtree" --sourcetree "$src/usr/src" --installtree "$inst")
	mkdir -p "$dtree" "$inst"
	check "dkms add kapolicy/$version" "${dkms[@]}" add "kapolicy/$version"
	for rel in "${kernels[@]}"; do
		mkdir -p "$inst/$rel"
		if "${dkms[@]}" autoinstall -k "$rel" > "$logs/dkms-$rel.log" 2>&1; then
			ok "dkms autoinstall -k $rel (what a kernel upgrade runs)"
		else
			fail "dkms autoinstall -k $rel (what a kernel upgrade runs)" "$(tail -n 30 "$logs/dkms-$rel.log"; tail -n 30 "$dtree"/kapolicy/*/build/make.log 2>/dev/null)"
		fi
		ko=$(ls "$inst/$rel"/updates/dkms/kapolicy.ko* 2>/dev/null | head -n 1)
		if [ -n "$ko" ] && [ "$(modinfo -F vermagic "$ko" | cut -d' ' -f1)" = "$rel" ]; then
			ok "dkms installed kapolicy.ko for $rel (vermagic $rel)"
		else
			fail "dkms installed kapolicy.ko for $rel (vermagic $rel)" "found: '${ko}'"
		fi
	done
	"${dkms[@]}" status > "$logs/dkms-status.log" 2>&1
	check "dkms status: installed for each kernel" \
		test "$(grep -c "^kapolicy/$version, .*: installed" "$logs/dkms-status.log")" -eq ${#kernels[@]}
	check "dkms remove --all" "${dkms[@]}" remove "kapolicy/$version" --all
	left=$(find "$dtree" "$inst" -name '*kapolicy*' 2>/dev/null)
	if [ -z "$left" ]; then
		ok "dkms remove leaves nothing behind"
	else
		fail "dkms remove leaves nothing behind" "$left"
	fi
	unset mok_signing_key mok_certificate
fi

# ---- the VM harness's failure message ----
if want harness; then
	out=$(KAP_BUILD_DIR=$work/harness KAP_TEST_FILTER='^module$' KAP_VM_TIMEOUT=120 \
	      KAP_VM_APPEND="kapvm.top=/nonexistent/checkout" selftests/vm/vm.sh test "$krel" 2>&1)
	first=$(grep -m1 'FAILED' <<< "$out")
	if [ "$first" = "vm: $krel: FAILED: no verdict from the guest: cannot mount the checkout /nonexistent/checkout" ]; then
		ok "a guest without a verdict: the first failure line says why"
	else
		fail "a guest without a verdict: the first failure line says why" "$(head -n 5 <<< "$out")"
	fi
fi

echo "1..$n"
exit $failed
