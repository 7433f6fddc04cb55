FROM debian:12.8-slim
LABEL org.opencontainers.image.source=s org.opencontainers.image.version=v org.opencontainers.image.revision=r
RUN apt-get update && \
    apt-get install -y git
USER 1000
