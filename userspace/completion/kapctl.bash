# SPDX-License-Identifier: GPL-2.0
# bash completion for kapctl.  The objects and commands come from the binary
# itself (kapctl --list-commands), so completion cannot drift from it.

_kapctl()
{
	local cur=${COMP_WORDS[COMP_CWORD]} i words=() obj= nonopt=0
	local list
	list=$("${COMP_WORDS[0]}" --list-commands 2>/dev/null) || return

	for ((i = 1; i < COMP_CWORD; i++)); do
		case "${COMP_WORDS[i]}" in
		-*) ;;
		*) words+=("${COMP_WORDS[i]}") ;;
		esac
	done
	nonopt=${#words[@]}

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "-j --json -p --pretty -h --help -V --version" -- "$cur"))
		return
	fi
	case $nonopt in
	0)
		COMPREPLY=($(compgen -W "$(cut -d' ' -f1 <<< "$list" | sort -u)" -- "$cur"))
		;;
	1)
		obj=${words[0]}
		COMPREPLY=($(compgen -W "$(awk -v o="$obj" '$1 == o && NF > 1 { print $2 }' <<< "$list") help" -- "$cur"))
		[[ $obj == help ]] && COMPREPLY=($(compgen -W "$(cut -d' ' -f1 <<< "$list" | sort -u)" -- "$cur"))
		;;
	esac
}
complete -F _kapctl kapctl
