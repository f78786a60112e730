#!/bin/sh
# docker/nginx-conf.sh — renders nginx/cruddur-api.conf (the template script/server uses)
# for a container: listen on every address of the container, and pass FastCGI to the API
# over TCP (an address such as api:9000) or a unix socket (unix:/run/cruddur/api.sock on a
# volume shared with the API container).
# usage: nginx-conf.sh TEMPLATE PREFIX PORT UPSTREAM > nginx.conf
# PREFIX holds nginx's pid file, logs/ and tmp/ (they must exist). Fails when the template
# no longer has the lines it edits, so a changed template cannot yield a wrong config.
set -eu

if [ $# -ne 4 ]; then
	echo "usage: $0 TEMPLATE PREFIX PORT UPSTREAM > nginx.conf" >&2
	exit 2
fi
template=$1 prefix=$2 port=$3 upstream=$4
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
for line in 'listen 127.0.0.1:@PORT@;' 'server unix:@SOCKET@;'; do
	if ! grep -qF "$line" "$template"; then
		echo "$0: $template has no line '$line': update this script" >&2
		exit 1
	fi
done

out=$(sed -e "s|listen 127\\.0\\.0\\.1:@PORT@;|listen $port;|" \
	-e "s|server unix:@SOCKET@;|server $upstream;|" \
	-e "s|@PREFIX@|$prefix|g" -e "s|@PORT@|$port|g" -e "s|@USER@||" \
	-e "s|@BODY_MAX@|16k|" -e "s|@KEEPALIVE@||" -e "s|@KEEP_CONN@||" \
	"$template" | sed -e '1,/^[^#]/{/^#/d;}')
if printf '%s\n' "$out" | grep -v '^ *#' | grep -q '@[A-Z_]*@'; then
	echo "$0: placeholders left unfilled in the rendered $template:" >&2
	printf '%s\n' "$out" | grep -v '^ *#' | grep '@[A-Z_]*@' >&2
	exit 1
fi
printf '# nginx for the Cruddur API in a container: rendered by docker/nginx-conf.sh from\n'
printf '# nginx/cruddur-api.conf (listen %s, FastCGI to %s, prefix %s).\n' "$port" "$upstream" "$prefix"
printf '%s\n' "$out"
