FROM debian:12.8-slim
LABEL org.opencontainers.image.source=s org.opencontainers.image.version=v org.opencontainers.image.revision=r
ADD https://example.com/tool.tar.gz /opt/
USER 1000
