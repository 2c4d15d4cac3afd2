# Multi-stage build of the sigtrail binaries: sigtrail-server, sigtrail-witness
# and sigtrail. The topology that uses them is docker-compose.yml.
FROM rust:1.88-bookworm AS build
WORKDIR /src
# An image runs on any x86-64: this empty RUSTFLAGS replaces the
# target-cpu=native of .cargo/config.toml. For an image that only runs on
# machines like the one building it, with the faster Ed25519 checks that
# brings, pass --build-arg RUSTFLAGS="-C target-cpu=native".
ARG RUSTFLAGS=""
COPY . .
RUN cargo build --release --locked \
    --bin sigtrail-server --bin sigtrail-witness --bin sigtrail

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/sigtrail --create-home sigtrail \
    && mkdir -p /keys /data && chown sigtrail /keys /data
COPY --from=build /src/target/release/sigtrail-server /src/target/release/sigtrail-witness \
    /src/target/release/sigtrail /usr/local/bin/
COPY deploy/log.sh deploy/witness.sh deploy/monitor.sh /usr/local/bin/
USER sigtrail
WORKDIR /var/lib/sigtrail
EXPOSE 8080 8081
CMD ["sigtrail-server", "--listen", "0.0.0.0:8080"]
