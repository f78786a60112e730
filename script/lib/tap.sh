# shellcheck shell=bash
# tap.sh — TAP output for the check scripts (script/lib/deploy_check.sh, tests/deploy/run):
# one "ok N - what" or "not ok N - what" line per check, details as "#" lines, and a
# summary "# LABEL: N passed, N failed" that script/test's step_tap counts.

TAP_N=0
TAP_PASS=0
TAP_FAIL=0

tap_ok() {
	TAP_N=$((TAP_N + 1))
	TAP_PASS=$((TAP_PASS + 1))
	printf 'ok %d - %s\n' "$TAP_N" "$*"
}

tap_not_ok() {
	TAP_N=$((TAP_N + 1))
	TAP_FAIL=$((TAP_FAIL + 1))
	printf 'not ok %d - %s\n' "$TAP_N" "$*"
}

# tap_diag FILE: prints FILE (at most 40 lines) as TAP comments.
tap_diag() {
	[[ -s $1 ]] && head -n 40 -- "$1" | sed 's/^/#   /'
	return 0
}

# tap_diag_line TEXT: one comment line.
tap_diag_line() {
	printf '# %s\n' "$*"
}

# tap_summary LABEL: the closing comment; true when no check failed.
tap_summary() {
	printf '# %s: %d passed, %d failed\n' "$1" "$TAP_PASS" "$TAP_FAIL"
	((TAP_FAIL == 0))
}
