#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The man page and the bash completion against the command table.
. "$(dirname "$0")/lib.sh"
man=$TESTS_DIR/../man/kapctl.8
comp=$TESTS_DIR/../completion/kapctl.bash

while read -r line; do
	pat="^\\.(B|BR) \"?kapctl ${line}( |\"|$)"
	if grep -qE "$pat" "$man"; then
		ok "man page documents 'kapctl $line'"
	else
		fail "man page documents 'kapctl $line'"
	fi
done < <("$KAPCTL" --list-commands)

for opt in $("$KAPCTL" --help | grep -oE -- '--[a-z-]+'); do
	# in roff every hyphen may be escaped: --missing-ok is \-\-missing\-ok
	if grep -qE -- "\\\\-\\\\-$(sed 's/-/\\\\?-/g' <<< "${opt#--}")" "$man"; then
		ok "man page documents $opt"
	else
		fail "man page documents $opt"
	fi
done

# The COUNTERS section has an entry for each counter (kapctl --list-counters).
counters_section=$(sed -n '/^\.SH COUNTERS/,/^\.SH /p' "$man")
for c in $("$KAPCTL" --list-counters); do
	if grep -qxF ".B $c" <<< "$counters_section"; then
		ok "man page documents the counter $c"
	else
		fail "man page documents the counter $c"
	fi
done

# Each command's options (kapctl --list-options) are documented in its own
# entry of the man page: from its ".TP" ".B kapctl CMD" heading to the next.
man_entry() {
	awk -v cmd="kapctl $1" '
		prev == ".TP" && /^\.(B|BR) "?kapctl / {
			line = $0
			sub(/^\.(B|BR) "?/, "", line)
			on = (index(line, cmd) == 1 && (length(line) == length(cmd) ||
			      substr(line, length(cmd) + 1, 1) ~ /[ "]/))
		}
		/^\.SH / { on = 0 }
		on { print }
		{ prev = $0 }' "$man"
}
while IFS=: read -r cmd opts; do
	entry=$(man_entry "$cmd")
	for opt in $opts; do
		opt=${opt%=}
		if grep -qxF -e ".B $opt" -e ".BI $opt" <<< "$(sed 's/\\-/-/g' <<< "$entry" | cut -d' ' -f1-2)"; then
			ok "man page documents '$opt' under 'kapctl $cmd'"
		else
			fail "man page documents '$opt' under 'kapctl $cmd'"
		fi
	done
done < <("$KAPCTL" --list-options)

# Completion: simulate bash's completion of "kapctl <TAB>" and
# "kapctl OBJECT <TAB>" and compare with the command table.
. "$comp"
complete_words() {
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE="$*"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_kapctl
	printf '%s\n' "${COMPREPLY[@]}" | sort -u | tr '\n' ' '
}
want=$("$KAPCTL" --list-commands | cut -d' ' -f1 | sort -u | tr '\n' ' ')
expect_eq "completion offers every object" "$want" "$(complete_words "$KAPCTL" "")"
for obj in $("$KAPCTL" --list-commands | awk 'NF > 1 { print $1 }' | sort -u); do
	want=$( ("$KAPCTL" --list-commands | awk -v o="$obj" '$1 == o { print $2 }'; echo help) | sort -u | tr '\n' ' ')
	expect_eq "completion offers the commands of $obj" "$want" "$(complete_words "$KAPCTL" "$obj" "")"
done

# ... the options of each command, and the common ones
while IFS=: read -r cmd opts; do
	want=$( (for o in $opts -j --json -p --pretty -h --help; do echo "${o%=}"; done) | sort -u | tr '\n' ' ')
	expect_eq "completion offers the options of '$cmd'" "$want" \
		"$(complete_words "$KAPCTL" $cmd "--port" "5432" "-")"
done < <("$KAPCTL" --list-options | grep -v '^stats global:\|^help:')

# ... and values that kapctl accepts, every one of them
fake_module
for v in $(complete_words "$KAPCTL" stats ports --sort ""); do
	"$KAPCTL" stats ports --sort "$v" > /dev/null 2>&1 || fail "completion's --sort value '$v' is accepted"
done
ok "every --sort value the completion offers is accepted"
n=$(complete_words "$KAPCTL" stats ports --sort "" | wc -w)
expect_eq "completion offers all 9 counters for --sort" 9 "$n"
for v in $(complete_words "$KAPCTL" watch --event ""); do
	out=$("$KAPCTL" watch --event "$v" --file /dev/null 2>&1) || fail "completion's --event value '$v' is accepted" "$out"
done
ok "every --event value the completion offers is accepted"
for v in $(complete_words "$KAPCTL" sockets --state ""); do
	out=$("$KAPCTL" help sockets > /dev/null; "$KAPCTL" sockets --state "$v" --port 1 2>&1)
	[ $? -eq 2 ] && fail "completion's --state value '$v' is accepted" "$out"
done
ok "every --state value the completion offers is accepted"
fake_policy pg 0 "lport=5432 idle=60 mode=fill"
expect_eq "completion offers the policies for 'policy del'" "pg " "$(complete_words "$KAPCTL" policy del "")"
# ... values after KEY= and --option=, and only the keys not given yet
expect_eq "completion: mode= offers the modes" "fill override " "$(complete_words "$KAPCTL" policy add pg "mode=")"
expect_eq "completion: --format= offers the formats" "json prometheus text " \
	"$(complete_words "$KAPCTL" stats --format=)"
expect_eq "completion: --format=pr completes" "prometheus " "$(complete_words "$KAPCTL" stats --format=pr)"
got=$(complete_words "$KAPCTL" policy add pg idle=5 mode=fill "")
if [[ " $got" != *" idle="* && " $got" != *" mode="* && " $got" == *" intvl="* ]]; then
	ok "completion: keys already given are not offered again"
else
	fail "completion: keys already given are not offered again" "$got"
fi

finish
