FROM debian:12.8-slim AS base
LABEL org.opencontainers.image.source=s org.opencontainers.image.version=v org.opencontainers.image.revision=r
USER 1000
FROM base AS tool
USER root
RUN true
