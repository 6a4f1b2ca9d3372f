# SPDX-License-Identifier: GPL-2.0
# bash completion for kapctl.  The objects, commands, options and counters
# come from the binary itself (kapctl --list-commands, --list-options,
# --list-counters), so completion cannot drift from it; the unit tests check
# the fixed value lists below against kapctl.

_kapctl_policies()
{
	local d=${KAPCTL_SYSFS:-/sys/kernel/kapolicy}/policies p
	for p in "$d"/*; do
		[ -d "$p" ] && echo "${p##*/}"
	done
}

_kapctl()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=
	local kapctl=${COMP_WORDS[0]} list optlist valopts key opts i w
	local words=()
	local events="policy_applied probe_sent probe_answered probe_deferred peer_reset icmp_error timeout idle_death"
	local states="established syn-sent syn-recv fin-wait-1 fin-wait-2 time-wait close close-wait last-ack listen closing all"
	local keys="family= lport= rport= cgroup= unit= netns= preset= idle= intvl= cnt= user_timeout= keepalive=on mode= order="
	local presets="aws-nlb aws-nat azure-lb gcp-firewall gcp-nat ipvs conntrack timeout:"

	# KEY=VALUE and --option=VALUE: readline completes the part after the
	# '=' (COMP_WORDBREAKS), so the values are offered bare
	local line=${COMP_LINE:-${COMP_WORDS[*]}} tok
	[ -n "${COMP_POINT:-}" ] && line=${line:0:COMP_POINT}
	tok=${line##*[[:space:]]}

	list=$("$kapctl" --list-commands 2>/dev/null) || return
	optlist=$("$kapctl" --list-options 2>/dev/null)
	valopts=" $(grep -oE -- '--[a-z-]+=' <<< "$optlist" | tr -d = | sort -u | tr '\n' ' ')"
	((COMP_CWORD > 1)) && prev=${COMP_WORDS[COMP_CWORD - 1]}

	if [[ $tok == *=* ]]; then
		local k=${tok%%=*} v=${tok#*=} vals=
		case "$k" in
		--format) vals="text json prometheus" ;;
		--sort) vals=$("$kapctl" --list-counters 2>/dev/null) ;;
		--event) vals=$events ;;
		--state) vals=$states ;;
		--policy) vals="$(_kapctl_policies) -" ;;
		mode) vals="fill override" ;;
		family) vals="4 6" ;;
		keepalive) vals="on" ;;
		user_timeout) vals="auto" ;;
		netns) vals=$(ls /run/netns 2>/dev/null) ;;
		preset) vals=$presets ;;
		unit) vals=$(systemctl list-units --type=service --state=running --no-legend --plain 2>/dev/null |
			     awk '{ print $1 }') ;;
		cgroup | --cgroup | --file) COMPREPLY=($(compgen -f -- "$v")); return ;;
		esac
		COMPREPLY=($(compgen -W "$vals" -- "$v"))
		# preset=timeout: wants its seconds right after the colon
		[[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *: ]] && compopt -o nospace 2>/dev/null
		return
	fi

	# the words before the cursor, without options and their values
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case "$w" in
		-) words+=("$w") ;;
		-*) [[ $valopts == *" $w "* ]] && ((i++)) ;;
		*) words+=("$w") ;;
		esac
	done

	# the value of an option
	if [[ $prev == --* && $valopts == *" $prev "* ]]; then
		case "$prev" in
		--format) COMPREPLY=($(compgen -W "text json prometheus" -- "$cur")) ;;
		--sort) COMPREPLY=($(compgen -W "$("$kapctl" --list-counters 2>/dev/null)" -- "$cur")) ;;
		--event) COMPREPLY=($(compgen -W "$events" -- "$cur")) ;;
		--state) COMPREPLY=($(compgen -W "$states" -- "$cur")) ;;
		--policy) COMPREPLY=($(compgen -W "$(_kapctl_policies) -" -- "$cur")) ;;
		--file) COMPREPLY=($(compgen -f -- "$cur")) ;;
		--cgroup) COMPREPLY=($(compgen -d -- "$cur")) ;;
		*) COMPREPLY=() ;;
		esac
		return
	fi

	# options: the global ones before the object, the command's after it
	if [[ $cur == -* ]]; then
		if [ ${#words[@]} -eq 0 ]; then
			COMPREPLY=($(compgen -W "-j --json -p --pretty -h --help -V --version" -- "$cur"))
			return
		fi
		key=${words[0]}
		[ ${#words[@]} -gt 1 ] && key="${words[0]} ${words[1]}"
		opts=$(awk -v k="$key" '
			{
				if ($1 ~ /:$/) { name = substr($1, 1, length($1) - 1); first = 2 }
				else { name = $1 " " substr($2, 1, length($2) - 1); first = 3 }
			}
			name == k || (index(k, " ") == 0 && $1 == k) {
				for (i = first; i <= NF; i++) print $i
			}' <<< "$optlist" | tr -d = | sort -u)
		COMPREPLY=($(compgen -W "$opts -j --json -p --pretty -h --help" -- "$cur"))
		return
	fi

	case ${#words[@]} in
	0)
		COMPREPLY=($(compgen -W "$(cut -d' ' -f1 <<< "$list" | sort -u)" -- "$cur"))
		return
		;;
	1)
		case ${words[0]} in
		help) COMPREPLY=($(compgen -W "$(cut -d' ' -f1 <<< "$list" | sort -u)" -- "$cur")) ;;
		apply) COMPREPLY=($(compgen -f -- "$cur")) ;;
		*) COMPREPLY=($(compgen -W "$(awk -v o="${words[0]}" '$1 == o && NF > 1 { print $2 }' <<< "$list") help" -- "$cur")) ;;
		esac
		return
		;;
	esac
	case "${words[0]} ${words[1]}" in
	"policy del" | "policy show" | "policy move")
		[ ${#words[@]} -eq 2 ] && COMPREPLY=($(compgen -W "$(_kapctl_policies)" -- "$cur"))
		;;
	"policy enforce")
		[ ${#words[@]} -eq 2 ] && COMPREPLY=($(compgen -W "on off" -- "$cur"))
		;;
	"policy presets")
		[ ${#words[@]} -eq 2 ] && COMPREPLY=($(compgen -W "$presets" -- "$cur"))
		;;
	"policy add")
		if [ ${#words[@]} -ge 3 ]; then
			local left= k2
			# not the keys already given
			for k2 in $keys; do
				[[ " ${line% *} " == *" ${k2%%=*}="* ]] || left="$left $k2"
			done
			COMPREPLY=($(compgen -W "$left" -- "$cur"))
			compopt -o nospace 2>/dev/null
		fi
		;;
	"help "*)
		[ ${#words[@]} -eq 2 ] &&
			COMPREPLY=($(compgen -W "$(awk -v o="${words[1]}" '$1 == o && NF > 1 { print $2 }' <<< "$list")" -- "$cur"))
		;;
	esac
}
complete -F _kapctl kapctl
