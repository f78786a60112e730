# shellcheck shell=bash
# ddb_local.sh — Amazon DynamoDB Local: fetch the pinned jar (shipped inside an npm
# package) into the cache, verify it, and start it on 127.0.0.1. Needs common.sh.

DDB_LOCAL_NPM_PKG=amplify-dynamodb-simulator
DDB_LOCAL_VERSION=2.9.30
DDB_LOCAL_TGZ_SHA256=3503ffac19f183407909fecdacf4db51ab1fdad1da7b2f177016670b2d80e4b9

# What DynamoDB Local logs when it cannot serve; it does not exit then (jetty threads live on).
DDB_LOCAL_FATAL_RE='java\.net\.BindException|Failed to bind to|Exception in thread "main"'

# ddb_local_dir: prints the cache folder of the pinned version.
ddb_local_dir() {
	printf '%s/dynamodb-local/%s\n' "$(cr_cache_dir)" "$DDB_LOCAL_VERSION"
}

# ddb_local_emulator: prints the folder holding DynamoDBLocal.jar and DynamoDBLocal_lib/.
ddb_local_emulator() {
	printf '%s/package/emulator\n' "$(ddb_local_dir)"
}

# ddb_local_valid DIR: true when DIR holds an extraction whose jar matches the sha256
# recorded at extraction time.
ddb_local_valid() {
	local emu=$1/package/emulator
	[[ -f $emu/DynamoDBLocal.jar && -d $emu/DynamoDBLocal_lib && -f $emu/DynamoDBLocal.jar.sha256 ]] &&
		(cd "$emu" && sha256sum --status -c DynamoDBLocal.jar.sha256) 2>/dev/null
}

# ddb_local_fetch: makes sure the cache holds a verified copy; downloads it with
# `npm pack` when not. The tarball's sha256 must equal DDB_LOCAL_TGZ_SHA256.
ddb_local_fetch() {
	local dir parent tmp sum rc=0
	dir=$(ddb_local_dir)
	parent=$(dirname "$dir")
	if ddb_local_valid "$dir"; then
		cr_say "DynamoDB Local $DDB_LOCAL_VERSION: cached in $dir"
		return 0
	fi
	mkdir -p "$parent" || return 1
	# One fetch at a time per cache; a second run waits, then finds the cache valid.
	exec 8>"$parent/.lock"
	flock 8
	if ddb_local_valid "$dir"; then
		exec 8>&-
		cr_say "DynamoDB Local $DDB_LOCAL_VERSION: cached in $dir"
		return 0
	fi
	cr_say "fetching DynamoDB Local $DDB_LOCAL_VERSION (npm pack $DDB_LOCAL_NPM_PKG@$DDB_LOCAL_VERSION)"
	tmp=$(mktemp -d "$parent/.fetch.XXXXXX") || {
		exec 8>&-
		return 1
	}
	(
		set -e
		cd "$tmp"
		npm pack --silent "$DDB_LOCAL_NPM_PKG@$DDB_LOCAL_VERSION" </dev/null >npm-pack.out 2>npm-pack.err ||
			{ cat npm-pack.err >&2; exit 1; }
		tgz=$DDB_LOCAL_NPM_PKG-$DDB_LOCAL_VERSION.tgz
		[[ -f $tgz ]] || { cr_err "npm pack produced no $tgz"; exit 1; }
		sum=$(sha256sum "$tgz" | cut -d' ' -f1)
		if [[ $sum != "$DDB_LOCAL_TGZ_SHA256" ]]; then
			cr_err "sha256 MISMATCH for $tgz: expected $DDB_LOCAL_TGZ_SHA256, got $sum"
			exit 1
		fi
		mkdir x
		tar -xzf "$tgz" -C x
		emu=x/package/emulator
		[[ -f $emu/DynamoDBLocal.jar && -d $emu/DynamoDBLocal_lib ]] ||
			{ cr_err "$tgz has no package/emulator/DynamoDBLocal.jar"; exit 1; }
		(cd "$emu" && sha256sum DynamoDBLocal.jar >DynamoDBLocal.jar.sha256)
	) || rc=$?
	if ((rc == 0)); then
		rm -rf "$dir"
		mv -T "$tmp/x" "$dir" || rc=$?
	fi
	rm -rf "$tmp"
	exec 8>&-
	if ((rc != 0)); then
		cr_err "could not fetch DynamoDB Local $DDB_LOCAL_VERSION"
		return 1
	fi
	ddb_local_valid "$dir" || { cr_err "cache $dir failed verification after extraction"; return 1; }
	cr_say "DynamoDB Local $DDB_LOCAL_VERSION: verified and cached in $dir"
}

# ddb_local_command PORT ARGS...: sets the array DDB_LOCAL_CMD to the command that runs
# the cached DynamoDB Local on PORT (every interface: it has no host option) with ARGS
# (-inMemory or -dbPath DIR, -sharedDb, -disableTelemetry, ...).
ddb_local_command() {
	local port=$1 emu
	shift
	emu=$(ddb_local_emulator)
	[[ -f $emu/DynamoDBLocal.jar ]] || {
		cr_err "DynamoDB Local is not in the cache ($emu): run script/server or script/test once with network access"
		return 1
	}
	DDB_LOCAL_CMD=(java -Djava.library.path="$emu/DynamoDBLocal_lib" -jar "$emu/DynamoDBLocal.jar"
		-port "$port" "$@")
}

# ddb_local_start STATE_DIR: starts DynamoDB Local (in memory) on a free port, working
# dir and log in STATE_DIR, and waits (60 s at most) until it answers. Sets
# DDB_LOCAL_PORT and DDB_LOCAL_PID; the process is registered for cr_stop_all.
ddb_local_start() {
	local state=$1 log attempt
	ddb_local_command 0 || return 1
	mkdir -p "$state" || return 1
	log=$state/dynamodb-local.log
	# A port found free can be taken before java binds it (host namespace): try again then.
	for attempt in 1 2 3; do
		DDB_LOCAL_PORT=$(cr_pick_port) || return 1
		cr_say "starting DynamoDB Local on 127.0.0.1:$DDB_LOCAL_PORT (log: $log)"
		ddb_local_command "$DDB_LOCAL_PORT" -inMemory -disableTelemetry || return 1
		cr_start_bg dynamodb-local "$state" "$log" "${DDB_LOCAL_CMD[@]}"
		DDB_LOCAL_PID=$CR_BG_PID
		if cr_wait_http "http://127.0.0.1:$DDB_LOCAL_PORT" "$DDB_LOCAL_PID" "$log" 60 "$DDB_LOCAL_FATAL_RE"; then
			cr_say "DynamoDB Local is up (pid $DDB_LOCAL_PID)"
			return 0
		fi
		cr_stop_pid "$DDB_LOCAL_PID" dynamodb-local
		grep -q 'Address already in use' "$log" 2>/dev/null || break
		cr_warn "port $DDB_LOCAL_PORT was taken meanwhile (attempt $attempt); trying another"
	done
	cr_err "DynamoDB Local did not start"
	return 1
}
