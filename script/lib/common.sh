# shellcheck shell=bash
# common.sh — helpers shared by script/test and script/server: messages, the Debian
# packages the project needs, free ports, and background processes stopped on exit.
#
# Source it from bash with `set -u`; it defines functions and variables only.

# The repository root (this file lives in script/lib/).
# shellcheck disable=SC2034 # used by the scripts that source this file
CR_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)

# Every Debian package a developer machine or CI needs, in one place.
# npm is added only when no `npm` is on PATH (it may come from elsewhere).
CR_APT_PACKAGES=(
	build-essential autoconf automake libtool pkg-config
	libfcgi-dev libcurl4-openssl-dev libjansson-dev libpq-dev libssl-dev zlib1g-dev check
	postgresql nginx-light wrk python3 python3-boto3 python3-yaml openjdk-17-jre-headless
	iproute2 iptables util-linux shellcheck docker-compose valgrind curl ca-certificates
	systemd libfcgi-bin clang-14 libclang-rt-14-dev clang-format prometheus
)

# ---- messages ---------------------------------------------------------------------------
cr_say() { printf '==> %s\n' "$*"; }
cr_warn() { printf '==> WARNING: %s\n' "$*" >&2; }
cr_err() { printf '==> ERROR: %s\n' "$*" >&2; }

# cr_tail FILE [LINES]: prints the last LINES (default 60) lines of FILE, framed.
cr_tail() {
	local file=$1 lines=${2:-60}
	[[ -f $file ]] || return 0
	printf -- '---- last %s lines of %s ----\n' "$lines" "$file"
	tail -n "$lines" -- "$file"
	printf -- '---- end of %s ----\n' "$file"
}

# cr_errors FILE: prints the first error lines of a build log, then its tail.
cr_errors() {
	local file=$1
	[[ -f $file ]] || return 0
	local re='(^|[^[:alnum:]_])(error|fatal):|undefined reference|\*\*\*'
	if grep -qE "$re" "$file"; then
		printf -- '---- first errors in %s ----\n' "$file"
		grep -m 40 -E "$re" "$file"
	fi
	cr_tail "$file" 30
}

# ---- packages ---------------------------------------------------------------------------
# cr_pkg_installed PKG: true when dpkg says PKG is installed.
cr_pkg_installed() {
	[[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

# cr_ensure_packages: installs the missing ones of CR_APT_PACKAGES (and npm when there is
# no npm command). Runs `apt-get update` once, only when something is missing. Services
# that packages would start on install (nginx, postgresql) are kept from starting: the
# project runs its own private instances. Returns non-zero on failure.
cr_ensure_packages() {
	local missing=() pkg
	for pkg in "${CR_APT_PACKAGES[@]}"; do
		cr_pkg_installed "$pkg" || missing+=("$pkg")
	done
	command -v npm >/dev/null 2>&1 || missing+=(npm)
	if ((${#missing[@]} == 0)); then
		cr_say "packages: all ${#CR_APT_PACKAGES[@]} present"
		return 0
	fi
	cr_say "installing ${missing[*]}"
	local sudo=()
	if ((EUID != 0)); then
		if ! command -v sudo >/dev/null 2>&1; then
			cr_err "not root and no sudo: install these Debian packages: ${missing[*]}"
			return 1
		fi
		sudo=(sudo -n)
	fi
	(
		# policy-rc.d 101 = "do not start services" during this install only.
		policy=/usr/sbin/policy-rc.d
		if [[ ! -e $policy ]]; then
			trap '"${sudo[@]}" rm -f "$policy"' EXIT
			printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null &&
				"${sudo[@]}" chmod 755 "$policy"
		fi
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q -o DPkg::Lock::Timeout=300 </dev/null &&
			"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
				-o DPkg::Lock::Timeout=300 --no-install-recommends "${missing[@]}" </dev/null
	)
}

# ---- ports ------------------------------------------------------------------------------
# cr_port_free PORT: true when nothing listens on TCP PORT.
cr_port_free() {
	[[ -z $(ss -ltnH "sport = :$1" 2>/dev/null) ]]
}

# cr_port_unused PORT: true when no TCP socket at all has PORT as its local port. Stricter
# than cr_port_free: a client socket (even in TIME_WAIT) on PORT also makes bind() fail.
cr_port_unused() {
	[[ -z $(ss -tanH "sport = :$1" 2>/dev/null) ]]
}

# cr_pick_port: prints a random unused TCP port in 20000-59999, below the kernel's
# ephemeral range when that leaves room (outgoing connections take their local ports
# from that range, and could take the port between the pick and the bind).
cr_pick_port() {
	local p i lo=20000 hi=59999 eph_lo eph_hi
	if read -r eph_lo eph_hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null &&
		[[ $eph_lo =~ ^[0-9]+$ ]] && ((eph_lo - lo >= 2000 && eph_lo <= hi)); then
		hi=$((eph_lo - 1))
	fi
	for ((i = 0; i < 200; i++)); do
		p=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
		if cr_port_unused "$p"; then
			printf '%s\n' "$p"
			return 0
		fi
	done
	cr_err "no free TCP port found in $lo-$hi"
	return 1
}

# cr_wait_http URL PID LOG [TIMEOUT_S [FAIL_RE]]: waits until URL answers with any HTTP
# status. Fails early when PID exits, or when LOG matches the extended regex FAIL_RE (a
# server that logs a fatal error but does not exit); on failure prints the tail of LOG.
cr_wait_http() {
	local url=$1 pid=$2 log=$3 timeout_s=${4:-60} fail_re=${5:-} code deadline
	deadline=$((SECONDS + timeout_s))
	while ((SECONDS < deadline)); do
		code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$url" 2>/dev/null)
		[[ -n $code && $code != 000 ]] && return 0
		if [[ -n $fail_re ]] && grep -qE "$fail_re" "$log" 2>/dev/null; then
			cr_err "$url: the server failed (log: $log)"
			cr_tail "$log" 40 >&2
			return 1
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			cr_err "process $pid exited before $url answered"
			cr_tail "$log" 40 >&2
			return 1
		fi
		sleep 0.25
	done
	cr_err "$url did not answer within ${timeout_s}s"
	cr_tail "$log" 40 >&2
	return 1
}

# ---- background processes ---------------------------------------------------------------
# Started with cr_start_bg, stopped (whole process group) by cr_stop_all.
CR_BG_PIDS=()
CR_BG_NAMES=()

# cr_start_bg NAME DIR LOG CMD...: starts CMD in DIR in its own session (so a terminal's
# Ctrl-C reaches us, not it, and we stop it cleanly), output to LOG. It also gets SIGTERM
# if this shell dies without cleaning up. Sets CR_BG_PID (the pid of CMD itself).
cr_start_bg() {
	local name=$1 dir=$2 log=$3
	shift 3
	(cd "$dir" && exec setsid setpriv --pdeathsig TERM -- "$@") </dev/null >"$log" 2>&1 8>&- 9>&- &
	CR_BG_PID=$!
	CR_BG_PIDS+=("$CR_BG_PID")
	CR_BG_NAMES+=("$name")
}

# cr_stop_pid PID NAME: TERM to PID's process group, KILL after 10 s, then reap.
cr_stop_pid() {
	local pid=$1 name=$2 i
	kill -0 "$pid" 2>/dev/null || {
		wait "$pid" 2>/dev/null
		return 0
	}
	cr_say "stopping $name (pid $pid)"
	kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		cr_warn "$name did not stop on TERM; killing"
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	return 0
}

# cr_stop_all: stops everything cr_start_bg started, newest first.
cr_stop_all() {
	local i
	for ((i = ${#CR_BG_PIDS[@]} - 1; i >= 0; i--)); do
		cr_stop_pid "${CR_BG_PIDS[i]}" "${CR_BG_NAMES[i]}"
	done
	CR_BG_PIDS=()
	CR_BG_NAMES=()
}

# ---- places -----------------------------------------------------------------------------
# cr_cache_dir: prints the download cache (outside the work tree).
cr_cache_dir() {
	local home=${HOME:-}
	[[ -n $home ]] || home=$(getent passwd "$(id -u)" | cut -d: -f6)
	printf '%s\n' "${CRUDDUR_CACHE:-${XDG_CACHE_HOME:-$home/.cache}/cruddur}"
}

# ---- quoting, ports, processes, firewall (script/server) ---------------------------------
# cr_shq STRING: prints STRING single-quoted for sh and bash (for lines meant for eval).
cr_shq() {
	printf "'%s'" "${1//\'/\'\\\'\'}"
}

# cr_valid_port VALUE: true when VALUE is a TCP port number (1-65535).
cr_valid_port() {
	[[ $1 =~ ^[0-9]{1,5}$ ]] && ((10#$1 >= 1 && 10#$1 <= 65535))
}

# cr_port_owner PORT: prints who listens on TCP PORT ("address process" per line; the
# process shows only to root or its owner). Empty when nothing listens.
cr_port_owner() {
	ss -ltnpH "sport = :$1" 2>/dev/null | awk '{ print $4, $6 }' | head -n 3
}

# cr_pid_alive PID: true when PID names a running process (a zombie counts as gone).
cr_pid_alive() {
	[[ $1 =~ ^[0-9]+$ ]] && kill -0 "$1" 2>/dev/null &&
		! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# cr_pid_cmdline_has PID STRING...: true when PID runs and its command line contains
# every STRING (guards against a pid file naming a recycled pid).
cr_pid_cmdline_has() {
	local pid=$1 cmd s
	shift
	cr_pid_alive "$pid" || return 1
	cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
	for s; do
		[[ $cmd == *"$s"* ]] || return 1
	done
}

# cr_start_daemon DIR LOG CMD...: starts CMD in DIR as a daemon that outlives this shell:
# its own session (no terminal signals), stdin from /dev/null, output appended to LOG,
# no inherited lock fds. Unlike cr_start_bg it is not stopped by cr_stop_all.
# Sets CR_DAEMON_PID (the pid of CMD itself; stop it with cr_stop_pid).
cr_start_daemon() {
	local dir=$1 log=$2
	shift 2
	(cd "$dir" && exec setsid "$@") </dev/null >>"$log" 2>&1 8>&- 9>&- &
	CR_DAEMON_PID=$!
}

# Packet filter rules that keep a port that listens on every interface (DynamoDB Local has
# no host option) reachable from loopback only. Each rule carries this comment, so removal
# touches exactly the rules added here.
CR_FW_TAG=cruddur-server

# cr_fw_rule PORT: sets CR_FW_RULE to the rule (chain and match) for PORT.
cr_fw_rule() {
	CR_FW_RULE=(INPUT -p tcp --dport "$1" ! -i lo -m comment --comment "$CR_FW_TAG" -j DROP)
}

# cr_fw_guard PORT: drops TCP to PORT that arrives on any interface but lo, for IPv4
# (iptables) and IPv6 (ip6tables); adds each rule once. On return CR_FW_PROBLEMS lists
# what could not be done (empty when both are in place); returns 1 then.
cr_fw_guard() {
	local tool out
	CR_FW_PROBLEMS=()
	cr_fw_rule "$1"
	if ((EUID != 0)); then
		CR_FW_PROBLEMS+=("not root, so no iptables rules")
		return 1
	fi
	for tool in iptables ip6tables; do
		if ! command -v "$tool" >/dev/null 2>&1; then
			CR_FW_PROBLEMS+=("$tool is not installed")
			continue
		fi
		"$tool" -w 5 -C "${CR_FW_RULE[@]}" >/dev/null 2>&1 && continue
		out=$("$tool" -w 5 -I "${CR_FW_RULE[@]}" 2>&1) ||
			CR_FW_PROBLEMS+=("$tool failed: $(printf '%s' "$out" | head -n 1)")
	done
	((${#CR_FW_PROBLEMS[@]} == 0))
}

# cr_fw_guarded PORT: true when both rules for PORT are in place.
cr_fw_guarded() {
	local tool
	((EUID == 0)) || return 1
	cr_fw_rule "$1"
	for tool in iptables ip6tables; do
		command -v "$tool" >/dev/null 2>&1 || return 1
		"$tool" -w 5 -C "${CR_FW_RULE[@]}" >/dev/null 2>&1 || return 1
	done
}

# cr_fw_unguard PORT: removes the rules cr_fw_guard added for PORT (all copies).
cr_fw_unguard() {
	local tool i
	((EUID == 0)) || return 0
	cr_fw_rule "$1"
	for tool in iptables ip6tables; do
		command -v "$tool" >/dev/null 2>&1 || continue
		for ((i = 0; i < 20; i++)); do
			"$tool" -w 5 -C "${CR_FW_RULE[@]}" >/dev/null 2>&1 || break
			"$tool" -w 5 -D "${CR_FW_RULE[@]}" >/dev/null 2>&1 || break
		done
	done
	return 0
}
