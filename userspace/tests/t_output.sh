#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The output model (out.c): one description per command, printed as text or
# built as JSON.  Text tables: columns as wide as their widest value, even a
# 20-digit counter, numbers right-aligned under their headings.  JSON: u64
# values keep their digits, -p is the same document as -j, "stats all" is
# one document (none but the error when a view fails), empty tables are
# empty arrays.
. "$(dirname "$0")/lib.sh"
fake_module
U64_MAX=18446744073709551615
fake_policy pg 1 "lport=5432 idle=60 mode=fill" 12
fake_policy a-much-longer-policy-name 0 "rport=80-443 idle=30 mode=override" $U64_MAX
echo "8080 1 1 $U64_MAX 2 0 0 0 0 0" >> "$FAKE/ports"

# same_width(text): every line as long as the first (a table whose last
# column is right-aligned: every column padded to its width)
same_width() { awk 'NR == 1 { w = length($0) } length($0) != w { bad = 1 } END { exit bad }' <<< "$1"; }

# ends_under(text, heading, row-regex): the heading and its field in the
# first row matching row-regex end in the same column (headings are words)
ends_under() {
	awk -v h="$2" -v re="$3" '
	function ends(line, k,   i, n, in_word) {	# end column of field k
		n = 0
		for (i = 1; i <= length(line); i++) {
			if (substr(line, i, 1) != " " && !in_word) { in_word = 1; n++ }
			else if (substr(line, i, 1) == " " && in_word) { in_word = 0; if (n == k) return i - 1 }
		}
		return n == k ? length(line) : -1
	}
	NR == 1 { for (k = 1; k <= NF; k++) if ($k == h) col = k; want = ends($0, col); next }
	$0 ~ re && !done { done = 1; got = ends($0, col) }
	END { exit !(col && want > 0 && want == got) }' <<< "$1"
}

# starts_under(text, heading, row-regex, value): they start in the same column
starts_under() {
	local h v
	h=$(head -n 1 <<< "$1" | awk -v s="$2" '{ print index($0, s) }')
	v=$(grep -E -- "$3" <<< "$1" | head -n 1 | awk -v s="$4" '{ print index($0, s) }')
	[ "$h" -gt 0 ] && [ "$h" = "$v" ]
}

check_ok() { if "${@:2}"; then ok "$1"; else fail "$1" "$out"; fi; }

# ---- text tables ----
out=$("$KAPCTL" stats ports)
check_ok "stats ports: a 20-digit counter widens its column, every line as wide" same_width "$out"
check_ok "stats ports: SENT ends where the 20-digit counter ends" ends_under "$out" SENT '^8080 '
check_ok "stats ports: SENT ends where a short counter ends" ends_under "$out" SENT '^443 '
check_ok "stats ports: TIMEOUTS still ends over its values" ends_under "$out" TIMEOUTS '^443 '
out=$("$KAPCTL" stats policies)
check_ok "stats policies: the long name and the large counter, every line as wide" same_width "$out"
out=$("$KAPCTL" policy list)
check_ok "policy list: SENT ends where the 20-digit counter ends" \
	ends_under "$out" SENT 'a-much-longer'
check_ok "policy list: SPEC starts over every spec" starts_under "$out" SPEC '^1 ' "lport=5432"
check_ok "policy list: SPEC starts over the other spec" starts_under "$out" SPEC '^0 ' "rport=80-443"
expect_eq "policy list: no blanks at the ends of lines" 0 "$(grep -c ' $' <<< "$out")"
out=$("$KAPCTL" policy presets)
check_ok "policy presets: SOURCE starts over every source" starts_under "$out" SOURCE '^aws-nlb ' "AWS"

# ---- JSON values ----
out=$("$KAPCTL" -j stats ports)
expect_match "JSON: a u64 above INT64_MAX keeps its digits" "\"probes_sent\":$U64_MAX," "$out"
out=$("$KAPCTL" -j policy show a-much-longer-policy-name)
expect_eq "JSON: the same u64 in a policy's stats" "$U64_MAX" "$(json_get "$out" 'd["stats"]["probes_sent"]')"

# ---- -p and -j: the same document ----
same=0 n=0
for cmd in "status" "policy list" "policy show pg" "policy presets" "policy enforce" \
	   "stats global" "stats ports" "stats policies" "stats all" "--version"; do
	n=$((n + 1))
	# shellcheck disable=SC2086
	j=$("$KAPCTL" -j $cmd 2>/dev/null) p=$("$KAPCTL" -p $cmd 2>/dev/null)
	[ "$(python3 -c 'import json, sys; print(json.loads(sys.argv[1]) == json.loads(sys.argv[2]))' "$j" "$p")" = True ] &&
		same=$((same + 1))
done
expect_eq "-p and -j give the same document for every command" "$n" "$same"

# ---- stats all: one document ----
out=$("$KAPCTL" -j stats all)
expect_eq "stats all JSON: one line, the three views and format_version" "1 global ports policies 1" \
	"$(wc -l <<< "$out") $(json_get "$out" '" ".join(k for k in d if k != "format_version") + " " + str(d["format_version"])')"
expect_eq "stats all JSON: the views carry no format_version of their own" "False False False" \
	"$(json_get "$out" '" ".join(str("format_version" in d[k]) for k in ["global", "ports", "policies"])')"
mv "$FAKE/ports" "$FAKE/ports.away"
out=$("$KAPCTL" -j stats all 2>/dev/null); rc=$?
expect_eq "stats all JSON, a view failing: exit 1, one document, the error only" "1 1 error format_version" \
	"$rc $(wc -l <<< "$out") $(json_get "$out" '" ".join(d)')"
out=$("$KAPCTL" stats all 2>"$FAKE/err"); rc=$?
expect_eq "stats all text, a view failing: exit 1, the headings, the error" \
	"1 global: ports: policies: kapctl: cannot read $FAKE/ports: No such file or directory" \
	"$rc $(grep -E '^(global|ports|policies):' <<< "$out" | paste -sd ' ') $(cat "$FAKE/err")"
mv "$FAKE/ports.away" "$FAKE/ports"

# ---- empty tables ----
rm -rf "${FAKE:?}/policies"/*
out=$("$KAPCTL" policy list)
expect_eq "policy list without policies: the sentence, no heading" "no policies" "$out"
out=$("$KAPCTL" -j policy list)
expect_eq "policy list -j without policies: an empty array" "[] 1" \
	"$(json_get "$out" 'str(d["policies"]) + " " + str(d["format_version"])')"
out=$("$KAPCTL" -j stats ports --port 9999)
expect_eq "stats ports -j without a matching port: an empty array" "[]" "$(json_get "$out" 'd["ports"]')"
finish
