# syntax=docker/dockerfile:1
# The gslbd container image (README.md, "Deployment"; docs/deploy.md, "Docker"):
#   docker build -t gslbd .
#   docker run -d --name gslbd -p 53:53/udp -p 53:53/tcp -p 127.0.0.1:9153:9153 \
#     -v "$PWD/zones:/etc/gslbd/zones:ro" -v "$PWD/geo:/etc/gslbd/geo:ro" \
#     -v gslbd-state:/var/lib/gslbd gslbd
# Stage 1 builds the release binary with the Rust image; stage 2 is Debian slim with the
# binary, CA certificates (HTTPS health checks verify against them) and the shipped example
# configuration, which volumes replace. gslbd runs as the unprivileged user gslbd (uid
# 65532). The binary carries the file capability cap_net_bind_service, so it binds port 53
# without root. Docker's default capabilities include NET_BIND_SERVICE; the kernel refuses
# to run the binary when that capability is not in the bounding set, so after --cap-drop ALL
# add it back (--cap-add NET_BIND_SERVICE). --security-opt no-new-privileges voids file
# capabilities: with it, listen on a high port instead (`... gslbd serve --listen
# 0.0.0.0:5300 ...` and -p 53:5300/udp -p 53:5300/tcp).

ARG RUST_IMAGE=rust:1-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${RUST_IMAGE} AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin gslbd \
    && install -D -m 0755 target/release/gslbd /out/gslbd

FROM ${RUNTIME_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 65532 gslbd \
    && useradd --system --uid 65532 --gid gslbd --home-dir /var/lib/gslbd \
        --shell /usr/sbin/nologin gslbd \
    && install -d -o gslbd -g gslbd -m 0750 /var/lib/gslbd
COPY --from=build /out/gslbd /usr/bin/gslbd
# Port 53 without root: the one capability, on the binary (libcap2-bin only for setcap).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libcap2-bin \
    && setcap cap_net_bind_service=+ep /usr/bin/gslbd \
    && apt-get purge -y --auto-remove libcap2-bin \
    && rm -rf /var/lib/apt/lists/*
COPY zones /etc/gslbd/zones
COPY geo /etc/gslbd/geo

# The configuration (read-only is enough) and the state file's directory (drains, pool
# drains and shifts survive a new container).
VOLUME ["/etc/gslbd/zones", "/etc/gslbd/geo", "/var/lib/gslbd"]
# DNS, and the admin API (/healthz, /metrics, /v1/...): publish it on a management address
# only, and set GSLBD_ADMIN_TOKEN (-e) so that reloads and drains need the token. 853: DNS
# over TLS (tcp) and over QUIC (udp), when started with --listen-tls 0.0.0.0:853
# --listen-quic 0.0.0.0:853 --tls-cert ... --tls-key ... (README, "Docker").
EXPOSE 53/udp 53/tcp 853/tcp 853/udp 9153/tcp
USER 65532:65532
# GET /healthz with bash's /dev/tcp (the image has no curl): 200 while gslbd serves.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9153 && printf 'GET /healthz HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q '^HTTP/1\\.[01] 200'"]
# SIGTERM (docker stop): in-flight queries are finished and gslbd exits 0 within 5 s.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/gslbd"]
CMD ["serve", "--zones", "/etc/gslbd/zones", "--geo", "/etc/gslbd/geo", "--listen", "0.0.0.0:53", "--admin", "0.0.0.0:9153", "--state-file", "/var/lib/gslbd/state.json", "--nsid", "hostname"]
