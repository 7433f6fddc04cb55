FROM debian:12.8-slim
LABEL org.opencontainers.image.source=s org.opencontainers.image.version=v org.opencontainers.image.revision=r
ENV GITHUB_TOKEN=abc
USER 1000
