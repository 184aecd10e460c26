# Multi-stage build: compile in the Rust image, run on a slim Debian with only libpq.
FROM rust:1-bookworm AS build
WORKDIR /src
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev && rm -rf /var/lib/apt/lists/*
COPY Cargo.toml Cargo.lock build.rs ./
COPY migrations ./migrations
COPY sql ./sql
# The dashboard's files and the common-password list are compiled into the binary (`include_str!`).
COPY static ./static
COPY assets ./assets
COPY src ./src
RUN cargo build --release --locked --bin hybrid-crm

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* && useradd --system --uid 10001 crm
COPY --from=build /src/target/release/hybrid-crm /usr/local/bin/hybrid-crm
USER crm
ENV HOST=0.0.0.0 PORT=8080 LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=5 CMD curl -fs http://127.0.0.1:8080/health/live || exit 1
ENTRYPOINT ["hybrid-crm"]
CMD ["serve"]
