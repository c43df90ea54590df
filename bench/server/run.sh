#!/usr/bin/env bash
# Server benchmark: weightlens serve-static vs Debian's nginx serving the same bytes, on loopback.
#   bash bench/server/run.sh            (builds weightlens in release mode first)
#   WEIGHTLENS_BIN=path bash bench/server/run.sh
# Prints req/s and p99 for a small JSON and a 200 KB PNG with 64 connections (wrk), the ratio to
# nginx, server CPU per request, the latency of a sequential client alone and while 1,000 idle
# keep-alive connections are held open, and memory per idle connection. Every request goes to
# 127.0.0.1 only; each wrk run is bounded by DURATION.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-64}"

need() { command -v "$1" >/dev/null || { echo "installing $2"; apt-get install -y -qq "$2" >/dev/null; }; }
need wrk wrk
[ -x /usr/sbin/nginx ] || { echo "installing nginx-light"; apt-get install -y -qq nginx-light >/dev/null; }

if [ -z "${WEIGHTLENS_BIN:-}" ]; then
    swift build -c release --product weightlens >/dev/null
    WEIGHTLENS_BIN="$(swift build -c release --show-bin-path)/weightlens"
fi

WORK="$(mktemp -d)"
cleanup() {
    [ -n "${WL_PID:-}" ] && kill "$WL_PID" 2>/dev/null || true
    [ -n "${NGINX_PID:-}" ] && kill "$NGINX_PID" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

chmod 755 "$WORK"
mkdir -p "$WORK/site"
printf '{"status":"ok","queue_remaining":0,"devices":[{"name":"cpu","vram_total":0}]}\n' > "$WORK/site/small.json"
python3 - "$WORK/site/image.png" <<'PY'
import random, struct, sys, zlib
# A real 200 KB PNG: noise compresses poorly, so 256x256 RGB noise lands near 200 KB.
random.seed(7)
w, h = 256, 266
raw = b"".join(b"\x00" + bytes(random.getrandbits(8) for _ in range(w * 3)) for _ in range(h))
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
open(sys.argv[1], "wb").write(png)
PY

# nginx: foreground, its own config and temp paths, no access log, sendfile on (as it ships).
NGINX_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$WORK/nginx"
cat > "$WORK/nginx/nginx.conf" <<CONF
worker_processes auto;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 4096; }
http {
    include /etc/nginx/mime.types;
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    server { listen 127.0.0.1:$NGINX_PORT; root $WORK/site; }
}
CONF
chmod -R a+rX "$WORK/site"
/usr/sbin/nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" &
NGINX_PID=$!

"$WEIGHTLENS_BIN" serve-static --port 0 --root "$WORK/site" --idle-timeout 300 --max-connections 8192 > "$WORK/wl.out" &
WL_PID=$!
for _ in $(seq 1 100); do grep -q listening "$WORK/wl.out" 2>/dev/null && break; sleep 0.1; done
WL_PORT=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/wl.out" | head -1)
sleep 0.5

cpu_ticks() {  # summed user+system clock ticks of the given pids
    local t=0 p
    for p in "$@"; do t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat"))); done
    echo "$t"
}

run_wrk() {  # url pid... -> "req/s p99 cpu-us-per-request errors"
    local url="$1"; shift
    local before after
    before=$(cpu_ticks "$@")
    wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "$url" > "$WORK/wrk.txt" 2>&1
    after=$(cpu_ticks "$@")
    local rps p99 total cpu
    rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.txt")
    p99=$(awk '$1 == "99%" {print $2}' "$WORK/wrk.txt")
    total=$(awk '/requests in/ {print $1}' "$WORK/wrk.txt")
    # Server CPU per request is steadier than req/s on a shared machine: it does not depend on
    # how much CPU the other processes leave us.
    cpu=$(python3 -c "print(round(($after - $before) * 1e6 / $(getconf CLK_TCK) / max(1, $total), 1))")
    local errors; errors=$(grep -E "Non-2xx|Socket errors" "$WORK/wrk.txt" | tr '\n' ' ' || true)
    echo "$rps $p99 $cpu $errors"
}

echo "== $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== wrk -t2 -c$CONNECTIONS -d$DURATION"
NGINX_PIDS="$NGINX_PID $(pgrep -P "$NGINX_PID" | tr '\n' ' ')"
printf "%-12s %-10s %12s %10s %14s\n" file server "req/s" p99 "cpu us/req"
for file in small.json image.png; do
    read -r nrps np99 ncpu nerr <<<"$(run_wrk "http://127.0.0.1:$NGINX_PORT/$file" $NGINX_PIDS)"
    read -r wrps wp99 wcpu werr <<<"$(run_wrk "http://127.0.0.1:$WL_PORT/$file" "$WL_PID")"
    printf "%-12s %-10s %12s %10s %14s %s\n" "$file" nginx "$nrps" "$np99" "$ncpu" "$nerr"
    printf "%-12s %-10s %12s %10s %14s %s\n" "$file" weightlens "$wrps" "$wp99" "$wcpu" "$werr"
    python3 -c "print('   weightlens/nginx: req/s %.2f, cpu per request %.2f' % ($wrps / $nrps, $wcpu / $ncpu))"
done

cat > "$WORK/probe.py" <<'PY'
import http.client, sys, time
# One keep-alive client sending 3,000 sequential requests: its latency percentiles.
port = int(sys.argv[1])
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
samples = []
for i in range(3200):
    t = time.perf_counter()
    conn.request("GET", "/small.json")
    conn.getresponse().read()
    if i >= 200:  # warm-up
        samples.append((time.perf_counter() - t) * 1000)
samples.sort()
print("p50 %.2fms p99 %.2fms max %.2fms" % (samples[len(samples) // 2], samples[int(len(samples) * 0.99)], samples[-1]))
PY

echo "== latency of one sequential client, alone and with 1,000 idle keep-alive connections held open"
echo "   alone:                 $(python3 "$WORK/probe.py" "$WL_PORT")"
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
BEFORE=$(rss_kb "$WL_PID")
python3 - "$WL_PORT" "$WORK/idle.ready" "$WORK/idle.stop" <<'PY' &
import os, socket, sys, time
port, ready, stop = int(sys.argv[1]), sys.argv[2], sys.argv[3]
conns = []
for i in range(1000):
    s = socket.create_connection(("127.0.0.1", port))
    # One real request each, so every connection is a served keep-alive connection now idle.
    s.sendall(b"GET /small.json HTTP/1.1\r\nHost: x\r\n\r\n")
    s.recv(4096)
    conns.append(s)
open(ready, "w").write("ok")
deadline = time.time() + 120
while not os.path.exists(stop) and time.time() < deadline:
    time.sleep(0.1)
PY
IDLE_PID=$!
for _ in $(seq 1 300); do [ -f "$WORK/idle.ready" ] && break; sleep 0.1; done
sleep 0.5
AFTER=$(rss_kb "$WL_PID")
echo "   with 1,000 idle:       $(python3 "$WORK/probe.py" "$WL_PORT")"
touch "$WORK/idle.stop"; wait "$IDLE_PID" || true
python3 -c "print('   memory per idle connection: %.1f KB (RSS %d KB -> %d KB)' % (($AFTER - $BEFORE) / 1000, $BEFORE, $AFTER))"
