# syntax=docker/dockerfile:1
# Build stage: compile the release binary with the locked dependencies.
FROM rust:1.95-slim-bookworm AS build
# jemalloc (the binary's allocator) is built from source with make.
RUN apt-get update \
    && apt-get install -y --no-install-recommends make \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY migrations ./migrations
COPY crates ./crates
COPY src ./src
COPY xtask ./xtask
COPY tests ./tests
COPY benches ./benches
COPY schema.graphql ./
RUN cargo build --release --locked --bin groundwork

# Runtime stage: the binary alone, run by an unprivileged user.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app --create-home groundwork
WORKDIR /app
COPY --from=build /src/target/release/groundwork /usr/local/bin/groundwork
USER groundwork
ENV BIND_ADDR=0.0.0.0:8080 \
    APP_ENV=production
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
    CMD ["groundwork", "healthcheck"]
ENTRYPOINT ["groundwork"]
CMD ["serve"]
