# syntax=docker/dockerfile:1
# reviewlake: build once, run in a slim image.
#   docker build -t reviewlake .
#   docker run --rm reviewlake --help
# The cargo registry and the target folder are BuildKit cache mounts: after a code change only
# reviewlake's own crates are compiled again, not its ~600 dependencies.
FROM rust:1-bookworm AS build
# librdkafka is built from source by rdkafka's build script (configure + make).
RUN apt-get update && apt-get install -y --no-install-recommends build-essential python3 zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin reviewlake && cp target/release/reviewlake /usr/local/bin/

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* && useradd --uid 10001 --create-home reviewlake
COPY --from=build /usr/local/bin/reviewlake /usr/local/bin/reviewlake
COPY sql /app/sql
WORKDIR /app
ENV REVIEWLAKE_SQL_DIR=/app/sql
USER reviewlake
ENTRYPOINT ["reviewlake"]
CMD ["--help"]
