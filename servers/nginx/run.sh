#!/bin/sh
# Writes an nginx config into a fresh directory and runs nginx on it in the
# foreground. Nothing under /etc/nginx or /var is read or written.
# usage: run.sh HOST PORT WORKERS TMPDIR
set -eu
host=$1 port=$2 workers=$3 dir=$4

case $host in *:*) listen="[$host]:$port" ;; *) listen="$host:$port" ;; esac
# As root, nginx would switch its workers to "nobody", who cannot enter the
# private temporary directory; keep them as the user that started nginx.
user_line=
[ "$(id -u)" = 0 ] && user_line="user root;"

mkdir -p "$dir/empty"
cat > "$dir/nginx.conf" <<CONF
$user_line
worker_processes $workers;
worker_rlimit_nofile 8192;
pid $dir/nginx.pid;
error_log stderr warn;
events { worker_connections 4096; }

http {
    access_log off;
    server_tokens off;
    # The default (1000) would close keep-alive connections that no other
    # variant closes, and the load generator would count reconnects.
    keepalive_requests 1000000;
    client_body_temp_path $dir/client_body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;

    server {
        listen $listen;
        default_type text/plain;

        location = / {
            if (\$request_method !~ ^(GET|HEAD)\$) { return 404; }
            return 200 "Hello, world.\n";
        }

        # Echo with core modules only (README.md says how): the mirror reads
        # the body into memory, the static handler finds no file, and its 404
        # is redirected to @echo, which returns the body it can now see.
        location = /echo {
            client_max_body_size 16m;
            client_body_buffer_size 16m;
            client_body_in_single_buffer on;
            mirror /_mirror_sink;
            mirror_request_body on;
            root $dir/empty;
            log_not_found off;
            error_page 404 = @echo;
        }
        location = /_mirror_sink { internal; return 204; }
        location @echo {
            if (\$request_method != POST) { return 404; }
            default_type application/octet-stream;
            return 200 \$request_body;
        }

        location / { return 404; }
    }
}
CONF
exec nginx -p "$dir" -c "$dir/nginx.conf" -e stderr -g 'daemon off;'
