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
	if grep -qE -- "\\\\-\\\\-${opt#--}" "$man"; then
		ok "man page documents $opt"
	else
		fail "man page documents $opt"
	fi
done

# Completion: simulate bash's completion of "kapctl <TAB>" and
# "kapctl OBJECT <TAB>" and compare with the command table.
. "$comp"
complete_words() {
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
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
finish
