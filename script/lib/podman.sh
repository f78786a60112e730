# shellcheck shell=bash
# podman.sh — containers for the deployment tests (tests/deploy/run): Debian's podman as
# the engine, docker-compose 1.29 driving it through podman's Docker-compatible API, the
# base images made locally, the project's images built with the project's own files.
# Needs common.sh (and ddb_local.sh for the DynamoDB Local look-alike).
#
# What this host needs and what the functions do about it:
#   - runc, not crun (Debian's crun refuses hybrid cgroups), and ulimits the host can grant
#     (nofile 1024, nproc 4096): a private containers.conf (CONTAINERS_CONF) says so;
#   - no registry but Debian's: debian:bookworm(-slim) are made with debootstrap and
#     imported; postgres:15-bookworm and amazon/dynamodb-local:2.5.2, which
#     docker/compose.yaml names, are look-alikes built from tests/deploy/images/ (labelled
#     org.cruddur.lookalike; a real image of that name is never replaced);
#   - no systemd as PID 1 on the host, so podman runs no health checks by itself: the
#     tests run `podman healthcheck run` on a timer (cr_podman_health_loop).
# CRUDDUR_NO_CONTAINERS=1 skips all of it (script/test --help).

CR_PODMAN_PACKAGES=(podman runc conmon netavark aardvark-dns debootstrap docker-compose)
CR_LOOKALIKE_LABEL=org.cruddur.lookalike
# The images the deployment tests use, as docker/compose.yaml and tests/deploy name them.
CR_IMG_BASE=debian:bookworm-slim
CR_IMG_POSTGRES=docker.io/library/postgres:15-bookworm
CR_IMG_DDB=docker.io/amazon/dynamodb-local:2.5.2
CR_IMG_BUILD=cruddur-build:local
CR_IMG_SYSTEMD=cruddur-systemd:test

# cr_podman_wanted: true unless the user opted out of the container tests.
cr_podman_wanted() {
	[[ ${CRUDDUR_NO_CONTAINERS:-0} != 1 ]]
}

# cr_podman_env: writes the private containers.conf into the cache and exports
# CONTAINERS_CONF (podman, and the API service that docker-compose talks to, read it).
cr_podman_env() {
	local dir
	dir=$(cr_cache_dir)/podman
	mkdir -p "$dir" || return 1
	cat >"$dir/containers.conf.tmp" <<'EOF'
# Written by script/lib/podman.sh for the deployment tests of Cruddur messaging.
[containers]
# The host's hard limits: runc fails to start a container that asks for more.
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[engine]
# Debian's crun refuses this kind of host's hybrid cgroup layout; runc works.
runtime = "runc"
EOF
	mv -f "$dir/containers.conf.tmp" "$dir/containers.conf" || return 1
	export CONTAINERS_CONF=$dir/containers.conf
}

# cr_podman_missing: prints what the container tests lack here (empty: nothing).
cr_podman_missing() {
	local pkg out=()
	for pkg in "${CR_PODMAN_PACKAGES[@]}"; do
		cr_pkg_installed "$pkg" || out+=("package $pkg")
	done
	((${#out[@]})) || podman info >/dev/null 2>&1 || out+=("a working podman (podman info fails)")
	printf '%s\n' "${out[@]}"
}

# cr_apt_mirror: the Debian mirror this host's apt uses (debootstrap takes the same one).
cr_apt_mirror() {
	local m
	m=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null |
		grep -v -- '-security' | head -n 1)
	[[ -n $m ]] || m=$(awk '$1 == "deb" && $3 ~ /^bookworm$/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
	[[ -n $m ]] || return 1
	printf '%s\n' "$m"
}

# cr_podman_has IMAGE: true when local storage holds IMAGE.
cr_podman_has() {
	podman image exists "$1" 2>/dev/null
}

# cr_podman_base LOG: makes debian:bookworm-slim and debian:bookworm when missing (or made
# by an older revision of this function), from a debootstrap (minbase) cached as a
# tarball, set up as Debian's official images are: no documentation, man pages or
# translations (dpkg path-exclude), no apt caches left in a layer (docker-clean).
CR_BASE_REV=2
cr_podman_base() {
	local log=$1 cache tar mirror root rev
	rev=$(podman image inspect -f '{{ index .Labels "org.cruddur.base" }}' debian:bookworm 2>/dev/null)
	if cr_podman_has debian:bookworm-slim && [[ $rev == "$CR_BASE_REV" ]]; then
		return 0
	fi
	cache=$(cr_cache_dir)/podman
	tar=$cache/debian-bookworm-minbase-$CR_BASE_REV.tar
	if [[ ! -s $tar ]]; then
		mirror=$(cr_apt_mirror) || {
			cr_err "no Debian mirror found in /etc/apt/sources.list(.d) for debootstrap"
			return 1
		}
		root=$(mktemp -d "$cache/rootfs.XXXXXX") && [[ -d $root && $root != / ]] || return 1
		cr_say "debootstrap --variant=minbase bookworm (about 30 s; cached in $tar)"
		if ! debootstrap --variant=minbase bookworm "$root" "$mirror" >>"$log" 2>&1; then
			rm -rf "$root"
			cr_err "debootstrap failed (log: $log)"
			return 1
		fi
		# Inside the new root only: relative paths from a subshell that cd'ed there.
		(
			cd "$root" || exit 1
			printf '%s\n' '# As in Debian'"'"'s official slim images: no docs, man pages or translations.' \
				'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
				'path-exclude /usr/share/man/*' 'path-exclude /usr/share/info/*' \
				'path-exclude /usr/share/locale/*' 'path-include /usr/share/locale/locale.alias' \
				>etc/dpkg/dpkg.cfg.d/docker
			clean='"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"'
			printf '%s\n' '# As in Debian'"'"'s official images: no .deb files or package caches in a layer.' \
				"DPkg::Post-Invoke { $clean; };" "APT::Update::Post-Invoke { $clean; };" \
				'Dir::Cache::pkgcache "";' 'Dir::Cache::srcpkgcache "";' >etc/apt/apt.conf.d/docker-clean
			printf 'Acquire::Languages "none";\n' >etc/apt/apt.conf.d/docker-no-languages
			find usr/share/doc -mindepth 2 ! -name copyright -delete
			find usr/share/locale -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
			rm -rf usr/share/man/* usr/share/info/* var/cache/apt/archives/*.deb var/cache/apt/*.bin \
				var/lib/apt/lists/*
		) 2>>"$log" || {
			rm -rf "$root"
			return 1
		}
		find "$cache" -maxdepth 1 -name 'debian-bookworm-minbase*.tar' -delete # older revisions
		tar -C "$root" -cf "$tar.tmp" . && mv -f "$tar.tmp" "$tar"
		rm -rf "$root"
		[[ -s $tar ]] || return 1
	fi
	podman import --change "LABEL org.cruddur.base=$CR_BASE_REV" --change 'CMD ["bash"]' "$tar" \
		"$CR_IMG_BASE" >>"$log" 2>&1 &&
		podman tag "$CR_IMG_BASE" debian:bookworm >>"$log" 2>&1
}

# cr_podman_lookalike IMAGE CONTAINERFILE CONTEXT LOG: builds IMAGE from CONTAINERFILE
# unless a real image of that name is present (one without the look-alike label).
cr_podman_lookalike() {
	local img=$1 file=$2 ctx=$3 log=$4 lab
	if cr_podman_has "$img"; then
		lab=$(podman image inspect -f "{{ index .Labels \"$CR_LOOKALIKE_LABEL\" }}" "$img" 2>/dev/null)
		if [[ $lab != 1 ]]; then
			cr_say "$img: a real image is here; using it"
			return 0
		fi
	fi
	podman build -f "$file" --label "$CR_LOOKALIKE_LABEL=1" -t "$img" "$ctx" >>"$log" 2>&1
}

# cr_podman_service SOCKET LOG: starts podman's Docker-compatible API on the unix SOCKET
# (a cr_start_bg job) and waits until it answers. Sets CR_PODMAN_SERVICE_PID.
cr_podman_service() {
	local sock=$1 log=$2 i
	rm -f "$sock"
	cr_start_bg podman-service "$(dirname "$sock")" "$log" podman system service --time=0 "unix://$sock"
	CR_PODMAN_SERVICE_PID=$CR_BG_PID
	for ((i = 0; i < 100; i++)); do
		curl -sf -m 2 --unix-socket "$sock" http://d/_ping >/dev/null 2>&1 && return 0
		cr_pid_alive "$CR_PODMAN_SERVICE_PID" || break
		sleep 0.1
	done
	cr_err "podman system service did not answer on $sock (log: $log)"
	return 1
}

# cr_podman_images SRC STATE: builds every image the deployment tests run, with the
# network (phase 1 of script/test): the base images, the look-alikes, the images of
# docker/compose.yaml through `docker-compose build` (as a user builds them), the build
# stage and the systemd host image. Log: STATE/logs/images.log.
cr_podman_images() {
	local src=$1 state=$2 log sock rc=0 t0=$SECONDS
	log=$state/logs/images.log
	mkdir -p "$state/logs" "$state/podman" || return 1
	: >"$log"
	cr_podman_env || return 1
	cr_podman_base "$log" || return 1
	# The look-alikes (mostly apt) build beside the project's images (mostly the compiler).
	cr_say "images: postgres and dynamodb-local look-alikes, docker-compose -f docker/compose.yaml build (through podman's API; log: $log)"
	local lpid
	(
		cr_podman_lookalike "$CR_IMG_POSTGRES" "$src/tests/deploy/images/postgres/Containerfile" \
			"$src/tests/deploy/images/postgres" "$log.lookalikes" &&
			cr_podman_lookalike "$CR_IMG_DDB" "$src/tests/deploy/images/dynamodb-local/Containerfile" \
				"$(ddb_local_emulator)" "$log.lookalikes"
	) &
	lpid=$!
	sock=$state/podman/build.sock
	if cr_podman_service "$sock" "$state/logs/podman-build-service.log"; then
		(cd "$src" && DOCKER_HOST=unix://$sock COMPOSE_PROJECT_NAME=cruddur-build \
			timeout 1200 docker-compose -f docker/compose.yaml --env-file docker/.env.example build) \
			>>"$log" 2>&1 || rc=1
		cr_stop_pid "$CR_PODMAN_SERVICE_PID" podman-service
	else
		rc=1
	fi
	wait "$lpid" || rc=1
	[[ -f $log.lookalikes ]] && cat "$log.lookalikes" >>"$log" && rm -f "$log.lookalikes"
	if ((rc == 0)); then
		cr_say "images: the build stage and the systemd host"
		podman build -f "$src/docker/Dockerfile" --target build -t "$CR_IMG_BUILD" "$src" >>"$log" 2>&1 &&
			podman build -f "$src/tests/deploy/images/systemd/Containerfile" \
				--build-arg BUILD_IMAGE="$CR_IMG_BUILD" -t "$CR_IMG_SYSTEMD" "$src" >>"$log" 2>&1 || rc=1
	fi
	if ((rc != 0)); then
		cr_tail "$log" 30
		cr_err "building the images failed (log: $log)"
		return 1
	fi
	# Old untagged layers only: the recent ones are the next build's cache.
	podman image prune -f --filter until=24h >>"$log" 2>&1
	cr_say "images built ($((SECONDS - t0))s)"
}

# cr_podman_health_loop LOG: runs the health checks of the running containers every 2 s
# (what podman leaves to systemd timers, absent on this host), a cr_start_bg job. Sets
# CR_PODMAN_HEALTH_PID.
cr_podman_health_loop() {
	# shellcheck disable=SC2016 # expanded by the loop's shell
	cr_start_bg podman-health "$(dirname "$1")" "$1" bash -c '
		while :; do
			for id in $(podman ps -q --filter health=starting) $(podman ps -q --filter health=healthy) \
				$(podman ps -q --filter health=unhealthy); do
				timeout 30 podman healthcheck run "$id" >/dev/null 2>&1 &
			done
			wait
			sleep 2
		done'
	# shellcheck disable=SC2034 # for the caller
	CR_PODMAN_HEALTH_PID=$CR_BG_PID
}
