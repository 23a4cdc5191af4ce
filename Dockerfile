# reviewlake: build once, run in a slim image.
#   docker build -t reviewlake .
#   docker run --rm reviewlake --help
FROM rust:1-bookworm AS build
# librdkafka is built from source by rdkafka's build script (configure + make).
RUN apt-get update && apt-get install -y --no-install-recommends build-essential python3 zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin reviewlake && cp target/release/reviewlake /usr/local/bin/

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
