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
	postgresql nginx-light wrk python3 python3-boto3 openjdk-17-jre-headless
	iproute2 util-linux shellcheck docker-compose valgrind curl ca-certificates
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

# cr_pick_port: prints a random free TCP port in 20000-59999.
cr_pick_port() {
	local p i
	for ((i = 0; i < 200; i++)); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		if cr_port_free "$p"; then
			printf '%s\n' "$p"
			return 0
		fi
	done
	cr_err "no free TCP port found in 20000-59999"
	return 1
}

# cr_wait_http URL PID LOG [TIMEOUT_S]: waits until URL answers with any HTTP status.
# Fails early when PID exits; on failure prints the tail of LOG.
cr_wait_http() {
	local url=$1 pid=$2 log=$3 timeout_s=${4:-60} code deadline
	deadline=$((SECONDS + timeout_s))
	while ((SECONDS < deadline)); do
		code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$url" 2>/dev/null)
		[[ -n $code && $code != 000 ]] && return 0
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
