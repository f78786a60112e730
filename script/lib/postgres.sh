# shellcheck shell=bash
# postgres.sh — a private PostgreSQL in a folder of its own, from Debian's server programs
# (/usr/lib/postgresql/<major>/bin): initdb, settings (127.0.0.1 only, unix socket inside
# the folder), start as a daemon (script/server) or as a job stopped on exit (script/test),
# an application role and database, stop. Needs common.sh.
#
# Folder layout (DIR):  data/  the cluster (PGDATA), owned by the server's account, 0700
#                       run/   the unix socket, owned by the server's account, 0700
#
# PostgreSQL refuses to run as root: as root it runs as the system user postgres (created
# when missing); otherwise as the calling user. As "root" of a user namespace that maps
# only our own uid (script/test run by a non-root user), it runs in a nested namespace
# that maps our uid to postgres. Authentication (pg_hba.conf):
#   unix socket  superuser postgres  peer (only the server's own account, via pg_ident)
#   unix socket  other roles         scram-sha-256
#   127.0.0.1    all roles           scram-sha-256

# pg_paths DIR: sets CR_PG_DATA and CR_PG_RUN for DIR.
pg_paths() {
	CR_PG_DATA=$1/data
	CR_PG_RUN=$1/run
}

# pg_find [DATADIR]: sets CR_PG_BIN (the folder with initdb, pg_ctl, postgres, psql) and
# CR_PG_MAJOR. CRUDDUR_PG_BINDIR wins; else the version DATADIR was made with, when
# installed; else the newest /usr/lib/postgresql/*/bin.
pg_find() {
	local data=${1:-} want="" bin="" d x
	[[ -n $data && -f $data/PG_VERSION ]] && want=$(<"$data/PG_VERSION")
	if [[ -n ${CRUDDUR_PG_BINDIR:-} ]]; then
		bin=$CRUDDUR_PG_BINDIR
	elif [[ -n $want && -x /usr/lib/postgresql/$want/bin/postgres ]]; then
		bin=/usr/lib/postgresql/$want/bin
	else
		bin=$(for d in /usr/lib/postgresql/*/bin; do
			if [[ -x $d/postgres ]]; then printf '%s\n' "$d"; fi
		done | sort -V | tail -n 1)
	fi
	for x in initdb pg_ctl postgres pg_isready psql; do
		if [[ -z $bin || ! -x $bin/$x ]]; then
			cr_err "PostgreSQL server programs not found${bin:+ in $bin}: install the Debian package postgresql (or set CRUDDUR_PG_BINDIR)"
			return 1
		fi
	done
	CR_PG_BIN=$bin
	CR_PG_MAJOR=$("$bin/postgres" --version | awk '{ print $NF }' | cut -d. -f1)
	if [[ -n $want && $want != "$CR_PG_MAJOR" ]]; then
		cr_err "$data was made by PostgreSQL $want, but $bin is PostgreSQL $CR_PG_MAJOR:" \
			"install postgresql-$want, or remove $(dirname "$data") (its data is lost) to start afresh"
		return 1
	fi
}

# pg_user: sets CR_PG_USER, CR_PG_UID and CR_PG_GID, the account the server runs as, and
# CR_PG_VIA, how to become it: setpriv (we are root), userns (we are root by a user
# namespace mapping only), none (we are not root: the server runs as ourselves).
pg_user() {
	CR_PG_VIA=none
	if ((EUID != 0)); then
		CR_PG_USER=$(id -un)
		CR_PG_UID=$EUID CR_PG_GID=$(id -g)
		return 0
	fi
	CR_PG_USER=postgres
	if ! getent passwd "$CR_PG_USER" >/dev/null; then
		if [[ -w /etc/passwd ]]; then
			cr_say "creating the system user $CR_PG_USER to run PostgreSQL (it refuses to run as root)"
			if ! useradd --system --user-group --no-create-home --home-dir /var/lib/postgresql \
				--shell /usr/sbin/nologin --comment "PostgreSQL administrator" "$CR_PG_USER"; then
				cr_err "could not create the user $CR_PG_USER (useradd failed)"
				return 1
			fi
		else
			CR_PG_USER=nobody
		fi
	fi
	CR_PG_UID=$(id -u "$CR_PG_USER") && CR_PG_GID=$(id -g "$CR_PG_USER") || return 1
	if setpriv --reuid="$CR_PG_UID" --regid="$CR_PG_GID" --init-groups true 2>/dev/null; then
		CR_PG_VIA=setpriv
	elif unshare --user --map-user="$CR_PG_UID" --map-group="$CR_PG_GID" true 2>/dev/null; then
		CR_PG_VIA=userns
	else
		cr_err "cannot switch to the user $CR_PG_USER here, and PostgreSQL refuses to run as root:" \
			"run this as the real root, or as a non-root user"
		return 1
	fi
}

# pg_become: sets CR_PG_BECOME to the command prefix that runs a command as CR_PG_USER.
pg_become() {
	case $CR_PG_VIA in
	setpriv) CR_PG_BECOME=(setpriv --reuid="$CR_PG_UID" --regid="$CR_PG_GID" --init-groups -- env HOME=/) ;;
	userns) CR_PG_BECOME=(unshare --user --map-user="$CR_PG_UID" --map-group="$CR_PG_GID" -- env HOME=/) ;;
	*) CR_PG_BECOME=() ;;
	esac
}

# pg_chown FILE...: gives FILEs to the server's account (when that is another account).
pg_chown() {
	[[ $CR_PG_VIA == setpriv ]] || return 0
	chown "$CR_PG_UID:$CR_PG_GID" "$@"
}

# pg_as_owner CMD...: runs CMD as the server's account (pg_user first), from /, with a
# known locale and none of the lock fds of the caller (pg_ctl's server inherits them).
pg_as_owner() {
	pg_become
	(cd / && exec "${CR_PG_BECOME[@]}" env -u PGOPTIONS -u PGSERVICE -u PGSERVICEFILE \
		LC_ALL=C.UTF-8 "$@") 8>&- 9>&-
}

# pg_init DIR [--no-sync]: makes DIR/data a cluster unless it is one already, and
# (re)writes its authentication files. Sets what pg_paths, pg_find and pg_user set.
pg_init() {
	local dir=$1 sync=() conf line
	[[ ${2:-} == --no-sync ]] && sync=(--no-sync)
	pg_paths "$dir"
	pg_user || return 1
	pg_find "$CR_PG_DATA" || return 1
	# sun_path holds 107 bytes; the socket is RUN/.s.PGSQL.<port>.
	if ((${#CR_PG_RUN} + 16 > 107)); then
		cr_err "the PostgreSQL socket path $CR_PG_RUN/.s.PGSQL.NNNNN is longer than a unix socket allows: use a shorter state folder"
		return 1
	fi
	mkdir -p "$CR_PG_DATA" "$CR_PG_RUN" &&
		pg_chown "$CR_PG_DATA" "$CR_PG_RUN" &&
		chmod 700 "$CR_PG_DATA" "$CR_PG_RUN" || return 1
	if ! pg_as_owner test -w "$CR_PG_DATA" -a -w "$CR_PG_RUN"; then
		cr_err "the user $CR_PG_USER cannot reach $CR_PG_DATA (a parent folder is closed to it):" \
			"put the state folder where it can, e.g. CRUDDUR_SERVER_STATE=/var/lib/cruddur/server"
		return 1
	fi
	if [[ ! -f $CR_PG_DATA/PG_VERSION ]]; then
		cr_say "initdb: a new PostgreSQL $CR_PG_MAJOR cluster in $CR_PG_DATA"
		if ! pg_as_owner "$CR_PG_BIN/initdb" -D "$CR_PG_DATA" -U postgres -E UTF8 --locale=C.UTF-8 \
			--auth-local=peer --auth-host=scram-sha-256 "${sync[@]}" >"$dir/initdb.log" 2>&1; then
			cr_err "initdb failed"
			cr_tail "$dir/initdb.log" 30 >&2
			return 1
		fi
	fi
	conf=$CR_PG_DATA/postgresql.conf
	line="include_if_exists = 'cruddur.conf'"
	if ! grep -qxF "$line" "$conf"; then
		printf '\n# Port, addresses and socket folder: written by script/lib/postgres.sh on each start.\n%s\n' \
			"$line" >>"$conf" || return 1
	fi
	cat >"$CR_PG_DATA/pg_hba.conf" <<-EOF || return 1
		# Written by script/lib/postgres.sh; rewritten on each start.
		# TYPE  DATABASE  USER      ADDRESS        METHOD
		local   all       postgres                 peer map=cruddur
		local   all       all                      scram-sha-256
		host    all       all       127.0.0.1/32   scram-sha-256
	EOF
	cat >"$CR_PG_DATA/pg_ident.conf" <<-EOF || return 1
		# Written by script/lib/postgres.sh: the server's own account is the superuser postgres.
		# MAPNAME  SYSTEM-USERNAME  PG-USERNAME
		cruddur    $CR_PG_USER    postgres
	EOF
}

# pg_configure DIR PORT [SETTING...]: writes DIR/data/cruddur.conf: listen on 127.0.0.1
# only, on PORT, socket in DIR/run, plus each SETTING line ("fsync = off").
pg_configure() {
	local dir=$1 port=$2 f
	shift 2
	pg_paths "$dir"
	f=$CR_PG_DATA/cruddur.conf
	{
		printf '# Written by script/lib/postgres.sh on each start.\n'
		printf "listen_addresses = '127.0.0.1'\n"
		printf 'port = %s\n' "$port"
		printf "unix_socket_directories = '%s'\n" "${CR_PG_RUN//\'/\'\'}"
		if (($#)); then printf '%s\n' "$@"; fi
	} >"$f" && pg_chown "$f" && chmod 600 "$f"
}

# pg_running DIR: true when the server of DIR/data runs; sets CR_PG_PID and
# CR_PG_RUNNING_PORT. Removes a stale postmaster.pid (its pid gone or someone else's).
pg_running() {
	local pidfile pid port cwd data
	pg_paths "$1"
	pidfile=$CR_PG_DATA/postmaster.pid
	CR_PG_PID="" CR_PG_RUNNING_PORT=""
	[[ -f $pidfile ]] || return 1
	{ read -r pid && read -r _ && read -r _ && read -r port; } <"$pidfile" || true
	if cr_pid_alive "${pid:-}"; then
		data=$(realpath -m "$CR_PG_DATA")
		cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null) || cwd=""
		# The postmaster works in its data dir; when /proc hides that, trust the name.
		if [[ $cwd == "$data" ]] || { [[ -z $cwd ]] && cr_pid_cmdline_has "$pid" postgres; }; then
			# shellcheck disable=SC2034 # used by the callers
			CR_PG_PID=$pid CR_PG_RUNNING_PORT=${port:-}
			return 0
		fi
	fi
	cr_say "PostgreSQL: removing the stale pid file $pidfile (pid ${pid:-?} is not its server)" >&2
	rm -f "$pidfile"
	return 1
}

# pg_ready PORT: true when a server accepts connections on 127.0.0.1:PORT.
pg_ready() {
	"$CR_PG_BIN/pg_isready" -q -t 2 -h 127.0.0.1 -p "$1" >/dev/null 2>&1
}

# pg_wait_ready PORT PID LOG [TIMEOUT_S]: waits until the server answers on PORT; fails
# early when PID exits. On failure prints the tail of LOG.
pg_wait_ready() {
	local port=$1 pid=$2 log=$3 timeout_s=${4:-60} deadline
	deadline=$((SECONDS + timeout_s))
	while ((SECONDS < deadline)); do
		pg_ready "$port" && return 0
		if ! cr_pid_alive "$pid"; then
			cr_err "PostgreSQL (pid $pid) exited before it answered on 127.0.0.1:$port"
			cr_tail "$log" 30 >&2
			return 1
		fi
		sleep 0.1
	done
	cr_err "PostgreSQL did not answer on 127.0.0.1:$port within ${timeout_s}s"
	cr_tail "$log" 30 >&2
	return 1
}

# pg_start_daemon DIR LOG: starts the (initialized, configured) server of DIR with pg_ctl,
# detached, output appended to LOG; waits until it accepts connections. Sets CR_PG_PID.
pg_start_daemon() {
	local dir=$1 log=$2
	pg_paths "$dir"
	touch "$log" && pg_chown "$log" || return 1
	if ! pg_as_owner "$CR_PG_BIN/pg_ctl" -D "$CR_PG_DATA" -l "$log" -w -t 60 -s start </dev/null; then
		cr_err "PostgreSQL did not start"
		cr_tail "$log" 30 >&2
		return 1
	fi
	pg_running "$dir"
}

# shellcheck disable=SC2153 # CR_BG_PID is set by cr_start_bg
# pg_start_job DIR LOG: starts the server of DIR in the background as a cr_start_bg job
# (stopped by cr_stop_all, and on our death), output to LOG. Sets CR_PG_PID; the caller
# waits with pg_wait_ready.
pg_start_job() {
	local dir=$1 log=$2 cmd
	pg_paths "$dir"
	cmd=(env -u PGOPTIONS LC_ALL=C.UTF-8 "$CR_PG_BIN/postgres" -D "$CR_PG_DATA")
	pg_become
	if ((${#CR_PG_BECOME[@]})); then
		# Changing the uid clears the parent-death signal: set it again as that user.
		cmd=("${CR_PG_BECOME[@]}" setpriv --pdeathsig TERM -- "${cmd[@]}")
	fi
	cr_start_bg postgres / "$log" "${cmd[@]}"
	CR_PG_PID=$CR_BG_PID # set by cr_start_bg
}

# pg_stop DIR: stops the server of DIR (fast shutdown: sessions are ended). Quiet when
# it does not run.
pg_stop() {
	local dir=$1
	pg_running "$dir" || return 0
	pg_paths "$dir"
	[[ -n ${CR_PG_BIN:-} ]] || pg_find "$CR_PG_DATA" || return 1
	[[ -n ${CR_PG_VIA:-} ]] || pg_user || return 1
	cr_say "stopping PostgreSQL (pid $CR_PG_PID)"
	pg_as_owner "$CR_PG_BIN/pg_ctl" -D "$CR_PG_DATA" -m fast -w -t 30 -s stop </dev/null && return 0
	cr_stop_pid "$CR_PG_PID" PostgreSQL
	! cr_pid_alive "$CR_PG_PID"
}

# pg_psql_super DIR PORT ARGS...: psql as the superuser over the unix socket of DIR.
pg_psql_super() {
	local dir=$1 port=$2
	shift 2
	pg_paths "$dir"
	pg_as_owner "$CR_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$CR_PG_RUN" -p "$port" \
		-U postgres -d postgres "$@"
}

# pg_ensure_app DIR PORT ROLE DB PASSWORD: makes ROLE (LOGIN CREATEDB, not superuser,
# PASSWORD) and DB owned by ROLE; idempotent, the password is (re)set each time.
pg_ensure_app() {
	local dir=$1 port=$2 role=$3 db=$4 pw=$5
	[[ $pw =~ ^[A-Za-z0-9]+$ ]] || {
		cr_err "pg_ensure_app: the password must be alphanumeric"
		return 1
	}
	pg_psql_super "$dir" "$port" -v role="$role" -v db="$db" <<-EOF
		\set pw '$pw'
		SELECT format('CREATE ROLE %I', :'role')
		 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
		ALTER ROLE :"role" WITH LOGIN CREATEDB NOSUPERUSER PASSWORD :'pw';
		SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role')
		 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
		ALTER DATABASE :"db" OWNER TO :"role";
	EOF
}

# pg_new_password: prints a random password (32 hex digits: safe in a URL).
pg_new_password() {
	od -An -tx1 -N16 /dev/urandom | tr -d ' \n'
}

# pg_test_start STATE_DIR: a fresh cluster in STATE_DIR/postgres (data not synced to
# disk: it is thrown away), started as a cr_start_bg job on a free port of 127.0.0.1,
# with role cruddur owning database cruddur. Sets PG_TEST_PORT, PG_TEST_PID and
# PG_TEST_URL (postgresql://cruddur:<password>@127.0.0.1:<port>/cruddur).
pg_test_start() {
	local state=$1 dir log pw attempt t0=$SECONDS
	dir=$state/postgres
	log=$state/postgres.log
	[[ -e $dir ]] && rm -rf "$dir"
	mkdir -p "$state" || return 1
	pg_init "$dir" --no-sync || return 1
	pw=$(pg_new_password)
	for attempt in 1 2 3; do
		PG_TEST_PORT=$(cr_pick_port) || return 1
		pg_configure "$dir" "$PG_TEST_PORT" "fsync = off" "synchronous_commit = off" \
			"full_page_writes = off" || return 1
		cr_say "starting PostgreSQL $CR_PG_MAJOR on 127.0.0.1:$PG_TEST_PORT (log: $log)"
		pg_start_job "$dir" "$log"
		PG_TEST_PID=$CR_PG_PID
		if pg_wait_ready "$PG_TEST_PORT" "$PG_TEST_PID" "$log" 30; then
			pg_ensure_app "$dir" "$PG_TEST_PORT" cruddur cruddur "$pw" || return 1
			# shellcheck disable=SC2034 # used by the callers
			PG_TEST_URL=postgresql://cruddur:$pw@127.0.0.1:$PG_TEST_PORT/cruddur
			cr_say "PostgreSQL is up (pid $PG_TEST_PID, $((SECONDS - t0))s)"
			return 0
		fi
		cr_stop_pid "$PG_TEST_PID" postgres
		grep -q 'Address already in use' "$log" 2>/dev/null || break
		cr_warn "port $PG_TEST_PORT was taken meanwhile (attempt $attempt); trying another"
	done
	cr_err "PostgreSQL did not start"
	return 1
}
