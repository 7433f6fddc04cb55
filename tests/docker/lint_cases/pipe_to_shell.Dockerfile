FROM debian:12.8-slim
LABEL org.opencontainers.image.source=s org.opencontainers.image.version=v org.opencontainers.image.revision=r
RUN curl -fsSL https://example.com/install.sh | sh
USER 1000
