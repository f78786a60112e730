#!/bin/sh
# docker/nginx-conf.sh — renders nginx/cruddur-api.conf (the template script/server uses)
# for a container: listen on every address of the container, and pass FastCGI to the API
# over TCP (an address such as api:9000) or a unix socket (unix:/run/cruddur/api.sock on a
# volume shared with the API container).
# usage: nginx-conf.sh TEMPLATE PREFIX PORT UPSTREAM [ORIGIN [PROXIES [BACKEND]]] > nginx.conf
# PREFIX holds nginx's pid file, logs/ and tmp/ (they must exist). ORIGIN: the web app's
# origin (FRONTEND_URL; a trailing / is dropped) that nginx's own errors carry CORS headers
# for; empty or absent: none. PROXIES: addresses or CIDRs (space or comma separated) of
# trusted proxies whose X-Forwarded-For gives the client address; empty or absent: none.
# BACKEND: HOST:PORT of the existing Cruddur backend that every other /api/ path goes to
# (activities, profiles...); empty or absent: none (the API answers them 404).
# Fails when the template no longer has the lines it edits, so a changed template cannot
# yield a wrong config.
set -eu

if [ $# -lt 4 ] || [ $# -gt 7 ]; then
	echo "usage: $0 TEMPLATE PREFIX PORT UPSTREAM [ORIGIN [PROXIES [BACKEND]]] > nginx.conf" >&2
	exit 2
fi
template=$1 prefix=$2 port=$3 upstream=$4 origin=${5:-} proxies=${6:-} backend=${7:-}
case $port in
'' | *[!0-9]*)
	echo "$0: PORT must be a number, got '$port'" >&2
	exit 2
	;;
esac
case $prefix$upstream in
*'|'* | *'&'* | *\\*)
	echo "$0: PREFIX and UPSTREAM must not contain | & or \\" >&2
	exit 2
	;;
esac
while [ "${origin%/}" != "$origin" ]; do origin=${origin%/}; done
if [ -n "$origin" ] && ! printf '%s\n' "$origin" | grep -Eqx '[A-Za-z][A-Za-z0-9+.-]*://[][A-Za-z0-9.:-]+'; then
	echo "$0: ORIGIN must be scheme://host[:port], got '$origin'" >&2
	exit 2
fi
real_ip=
for p in $(printf '%s\n' "$proxies" | tr ',' ' '); do
	if ! printf '%s\n' "$p" | grep -Eqx '[0-9A-Fa-f.:]+(/[0-9]+)?'; then
		echo "$0: PROXIES: not an address or CIDR: '$p'" >&2
		exit 2
	fi
	real_ip="${real_ip}set_real_ip_from $p; "
done
backend_server='server 127.0.0.1:9 down;' other_api='fastcgi_pass cruddur_api;'
if [ -n "$backend" ]; then
	if ! printf '%s\n' "$backend" | grep -Eqx '([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]):[0-9]{1,5}'; then
		echo "$0: BACKEND must be HOST:PORT, got '$backend'" >&2
		exit 2
	fi
	backend_server="server $backend;" other_api='error_page 418 = @cruddur_backend; return 418;'
fi
for line in 'listen 127.0.0.1:@PORT@;' 'server unix:@SOCKET@;' '@REAL_IP_FROM@' '@CORS_ORIGIN@' \
	'@BACKEND_SERVER@' '@OTHER_API@'; do
	if ! grep -qF "$line" "$template"; then
		echo "$0: $template has no line '$line': update this script" >&2
		exit 1
	fi
done

out=$(sed -e "s|listen 127\\.0\\.0\\.1:@PORT@;|listen $port;|" \
	-e "s|server unix:@SOCKET@;|server $upstream;|" \
	-e "s|@PREFIX@|$prefix|g" -e "s|@PORT@|$port|g" -e "s|@USER@||" \
	-e "s|@BODY_MAX@|16k|" -e "s|@KEEPALIVE@||" -e "s|@KEEP_CONN@||" \
	-e "s|@CORS_ORIGIN@|$origin|" -e "s|@REAL_IP_FROM@|$real_ip|" \
	-e "s|@BACKEND_SERVER@|$backend_server|" -e "s|@OTHER_API@|$other_api|" \
	"$template" | sed -e '1,/^[^#]/{/^#/d;}')
if printf '%s\n' "$out" | grep -v '^ *#' | grep -q '@[A-Z_]*@'; then
	echo "$0: placeholders left unfilled in the rendered $template:" >&2
	printf '%s\n' "$out" | grep -v '^ *#' | grep '@[A-Z_]*@' >&2
	exit 1
fi
printf '# nginx for the Cruddur API in a container: rendered by docker/nginx-conf.sh from\n'
printf '# nginx/cruddur-api.conf (listen %s, FastCGI to %s, prefix %s,\n' "$port" "$upstream" "$prefix"
printf '# CORS origin %s, trusted proxies %s, other /api/ paths to %s).\n' "${origin:-none}" \
	"${proxies:-none}" "${backend:-none}"
printf '%s\n' "$out"
